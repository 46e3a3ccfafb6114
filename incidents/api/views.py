"""Thin API over incidents.services and incidents.selectors (DESIGN §9). Each write makes one
service call; domain errors become HTTP codes in config.api.exception_handler."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import CachedReadsMixin, cached_response
from incidents import selectors, services
from incidents.api import serializers as s
from incidents.choices import UpdateKind
from incidents.filters import (
    CriterionFilter,
    IncidentFilter,
    ServiceFilter,
    StatusUpdateFilter,
    TimelineEntryFilter,
    VendorEscalationFilter,
)
from incidents.models import (
    DeclarationCriterion,
    IncidentRole,
    RecoveryValidation,
    Service,
    StatusUpdate,
    StatusUpdateTemplate,
    TimelineEntry,
    VendorEscalation,
)
from incidents.policy import policies
from readcache.selectors import INCIDENT_DOMAINS


class ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):  # fmt: skip
    """The services catalog; incident managers and admins change it."""

    queryset = Service.objects.select_related("owner").order_by("tier", "name")
    serializer_class = s.ServiceSerializer
    filterset_class = ServiceFilter
    ordering_fields = ["name", "tier", "cost_per_minute"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.service_save(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.service_save(
            by=self.request.user, service=serializer.instance, **serializer.validated_data
        )


class CriterionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       mixins.UpdateModelMixin, viewsets.GenericViewSet):  # fmt: skip
    """Declaration criteria configured in advance (seed step 1)."""

    queryset = DeclarationCriterion.objects.all()
    serializer_class = s.DeclarationCriterionSerializer
    filterset_class = CriterionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.criterion_save(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.criterion_save(
            by=self.request.user, criterion=serializer.instance, **serializer.validated_data
        )

    @extend_schema(
        request=s.DeclarationCriteriaInputSerializer,
        responses={200: s.DeclarationCriterionResultSerializer(many=True)},
    )
    @action(detail=False, methods=["post"], pagination_class=None)  # a plain list, not a page
    def evaluate(self, request):
        """Which criteria the facts known so far meet (used while logging)."""
        data = s.DeclarationCriteriaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = selectors.criteria_evaluation(**data.validated_data)
        return Response(s.DeclarationCriterionResultSerializer(results, many=True).data)


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                      viewsets.GenericViewSet):  # fmt: skip
    """Status update templates; admins edit them."""

    queryset = StatusUpdateTemplate.objects.all()
    serializer_class = s.StatusUpdateTemplateSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer):
        data = serializer.validated_data
        template = serializer.instance
        serializer.instance = services.template_save(
            by=self.request.user, template=template,
            subject=data.get("subject", template.subject), body=data.get("body", template.body),
        )  # fmt: skip


class IncidentViewSet(CachedReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):  # fmt: skip
    """Major incidents (DESIGN §6, §9). State changes are POSTs to the action endpoints."""

    serializer_class = s.IncidentSerializer
    filterset_class = IncidentFilter
    read_domains = INCIDENT_DOMAINS
    ordering_fields = ["reported_at", "declared_at", "severity", "reference"]

    def get_queryset(self):
        return selectors.incident_list(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "policies": policies()}

    def _out(self, incident, code=status.HTTP_200_OK) -> Response:
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(self.get_serializer(incident).data, status=code)

    @extend_schema(request=s.IncidentCreateSerializer, responses={201: s.IncidentSerializer})
    def create(self, request):
        """Log an incident; the declaration criteria are evaluated and recorded."""
        data = s.IncidentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = services.incident_log(by=request.user, **data.validated_data)
        return self._out(incident, status.HTTP_201_CREATED)

    @extend_schema(request=s.IncidentUpdateSerializer, responses={200: s.IncidentSerializer})
    def partial_update(self, request, pk=None):
        """Edit fields; changed times are checked for order and recorded as a correction."""
        incident = self.get_object()
        data = s.IncidentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        incident = services.incident_update(incident=incident, by=request.user, **data.validated_data)
        return self._out(incident)

    def _transition(self, request, service, body=s.IncidentTransitionSerializer):
        data = body(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if v is not None}
        return self._out(service(incident=self.get_object(), by=request.user, **values))

    @extend_schema(request=s.IncidentTransitionSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def declare(self, request, pk=None):
        """reported → declared; needs a MIM (422 otherwise)."""
        return self._transition(request, services.incident_declare)

    @extend_schema(request=s.IncidentTransitionSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        """declared → restored."""
        return self._transition(request, services.incident_restore)

    @extend_schema(request=s.IncidentTransitionSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        """restored → validated; needs the recovery checklist complete (422 otherwise)."""
        return self._transition(request, services.incident_validate)

    @extend_schema(request=s.IncidentTransitionSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """validated → closed."""
        return self._transition(request, services.incident_close)

    @extend_schema(request=s.IncidentReasonSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """restored/validated → declared; counted for the reopen rate."""
        return self._transition(request, services.incident_reopen, s.IncidentReasonSerializer)

    @extend_schema(request=s.IncidentReasonSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"], url_path="not-major")
    def not_major(self, request, pk=None):
        """reported → not_major."""
        return self._transition(request, services.incident_mark_not_major, s.IncidentReasonSerializer)

    @extend_schema(request=s.IncidentReasonSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """reported/declared → cancelled."""
        return self._transition(request, services.incident_cancel, s.IncidentReasonSerializer)

    @extend_schema(request=s.IncidentTransitionSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, services.incident_acknowledge)

    @extend_schema(request=s.IncidentTransitionSerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"], url_path="team-assembled")
    def team_assembled(self, request, pk=None):
        return self._transition(request, services.incident_team_assembled)

    @extend_schema(request=s.IncidentSeveritySerializer, responses={200: s.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def severity(self, request, pk=None):
        return self._transition(request, services.incident_severity_change, s.IncidentSeveritySerializer)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        """Durations, downtime, cost, cadence adherence and repeat status of this incident."""
        figures = selectors.incident_figures(self.get_object())
        return Response(figures)

    # --- Nested collections -----------------------------------------------------------------------

    def _page(self, queryset, serializer):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: s.TimelineEntrySerializer(many=True)},
                   parameters=[OpenApiParameter("kind", str, many=True)])  # fmt: skip
    @extend_schema(
        methods=["POST"], request=s.TimelineEntryCreateSerializer, responses={201: s.TimelineEntrySerializer}
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def timeline(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            entries = incident.timeline.order_by("occurred_at", "id")
            if kinds := request.query_params.getlist("kind"):
                entries = entries.filter(kind__in=kinds)
            return self._page(entries, s.TimelineEntrySerializer)
        data = s.TimelineEntryCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.timeline_entry_add(incident=incident, by=request.user, **data.validated_data)
        return Response(s.TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: s.StatusUpdateSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=s.StatusUpdateCreateSerializer, responses={201: s.StatusUpdateSerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="status-updates", filterset_class=None)
    def status_updates(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            return self._page(
                incident.status_updates.order_by("-created_at", "-id"), s.StatusUpdateSerializer
            )
        data = s.StatusUpdateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.status_update_create(incident=incident, by=request.user, **data.validated_data)
        return Response(s.StatusUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=UpdateKind.values)],
                   responses={200: s.StatusUpdatePrefillSerializer})  # fmt: skip
    @action(detail=True, methods=["get"], url_path="status-updates/prefill", filterset_class=None)
    def status_update_prefill(self, request, pk=None):
        """An update form's starting values: the template of `kind` rendered with this incident."""
        kind = request.query_params.get("kind", UpdateKind.PROGRESS)
        if kind not in UpdateKind.values:
            kind = UpdateKind.PROGRESS
        return Response(
            s.StatusUpdatePrefillSerializer(
                selectors.status_update_prefill(incident=self.get_object(), kind=kind)
            ).data
        )

    @extend_schema(methods=["GET"], responses={200: s.IncidentRoleSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=s.IncidentRoleAssignSerializer, responses={201: s.IncidentRoleSerializer}
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def roles(self, request, pk=None):
        """Every assignment, current and past; POST assigns or hands over a role."""
        incident = self.get_object()
        if request.method == "GET":
            return self._page(incident.roles.order_by("role", "-assigned_at"), s.IncidentRoleSerializer)
        data = s.IncidentRoleAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if v is not None}
        assignment = services.role_assign(incident=incident, by=request.user, **values)
        return Response(s.IncidentRoleSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: s.VendorEscalationSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=s.VendorEscalationCreateSerializer,
        responses={201: s.VendorEscalationSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="vendor-escalations", filterset_class=None)
    def vendor_escalations(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            return self._page(
                incident.vendor_escalations.order_by("contacted_at", "id"), s.VendorEscalationSerializer
            )
        data = s.VendorEscalationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if v is not None}
        escalation = services.vendor_escalation_add(incident=incident, by=request.user, **values)
        return Response(s.VendorEscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: s.RecoveryValidationSerializer})
    @extend_schema(
        methods=["PUT"],
        request=s.RecoveryValidationSerializer,
        responses={200: s.RecoveryValidationSerializer},
    )
    @action(detail=True, methods=["get", "put"], filterset_class=None)
    def validation(self, request, pk=None):
        """The recovery validation checklist (seed step 7) and what still blocks `validate`."""
        incident = self.get_object()
        if request.method == "GET":
            current = RecoveryValidation.objects.filter(incident=incident).first() or RecoveryValidation(
                incident=incident
            )
            return Response(s.RecoveryValidationSerializer(current).data)
        data = s.RecoveryValidationSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        saved = services.recovery_validation_save(incident=incident, by=request.user, **data.validated_data)
        return Response(s.RecoveryValidationSerializer(saved).data)

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={201: s.IncidentImportReportSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", filterset_class=None)
    def import_(self, request):
        """Import a JSON list of incidents with their times; all or nothing."""
        created = services.incidents_import(by=request.user, rows=request.data, source="the API")
        return Response({"created": len(created), "incidents": created}, status=status.HTTP_201_CREATED)


class TimelineEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """All timeline entries, filterable by incident and kind; entries are never edited."""

    queryset = TimelineEntry.objects.order_by("incident_id", "occurred_at", "id")
    serializer_class = s.TimelineEntrySerializer
    filterset_class = TimelineEntryFilter

    @extend_schema(request=s.TimelineEntryPinSerializer, responses={200: s.TimelineEntrySerializer})
    @action(detail=True, methods=["post"])
    def pin(self, request, pk=None):
        """Pin (or unpin with `{"pinned": false}`) an entry for the PIR."""
        data = s.TimelineEntryPinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.timeline_entry_pin(entry=self.get_object(), by=request.user, **data.validated_data)
        return Response(s.TimelineEntrySerializer(entry).data)


class StatusUpdateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = StatusUpdate.objects.order_by("-created_at", "-id")
    serializer_class = s.StatusUpdateSerializer
    filterset_class = StatusUpdateFilter

    @extend_schema(request=None, responses={200: s.StatusUpdateSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve and send an update waiting for approval (not by its author)."""
        update = services.status_update_approve(update=self.get_object(), by=request.user)
        return Response(s.StatusUpdateSerializer(update).data)


class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = IncidentRole.objects.order_by("incident_id", "role", "-assigned_at")
    serializer_class = s.IncidentRoleSerializer
    filterset_fields = ["incident", "role", "user"]

    @extend_schema(request=None, responses={200: s.IncidentRoleSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        assignment = services.role_release(assignment=self.get_object(), by=request.user)
        return Response(s.IncidentRoleSerializer(assignment).data)


class VendorEscalationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = VendorEscalation.objects.order_by("-contacted_at", "-id")
    serializer_class = s.VendorEscalationSerializer
    filterset_class = VendorEscalationFilter

    @extend_schema(
        request=s.VendorEscalationRespondedSerializer, responses={200: s.VendorEscalationSerializer}
    )
    @action(detail=True, methods=["post"])
    def responded(self, request, pk=None):
        data = s.VendorEscalationRespondedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if v}
        escalation = services.vendor_escalation_responded(
            escalation=self.get_object(), by=request.user, **values
        )
        return Response(s.VendorEscalationSerializer(escalation).data)


class IncidentMetricsView(APIView):
    """Aggregated incident metrics (DESIGN §6): median, p90 and mean of each duration in minutes,
    update-cadence adherence, reopen rate, repeat incidents, cost and a by-month series."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (reported_at), inclusive"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (reported_at), inclusive"),
            OpenApiParameter("service", int),
            OpenApiParameter("severity", int, enum=[1, 2, 3, 4]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        query = s.IncidentMetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = selectors.MetricFilters(
            date_from=query.validated_data.get("from"),
            date_to=query.validated_data.get("to"),
            service=getattr(query.validated_data.get("service"), "pk", None),
            severity=query.validated_data.get("severity"),
        )
        return cached_response(
            request,
            "incident-metrics",
            lambda: {
                "filters": {k: request.query_params.get(k) for k in ("from", "to", "service", "severity")},
                **selectors.incident_metrics(user=request.user, filters=filters),
            },
            domains=INCIDENT_DOMAINS,
        )
