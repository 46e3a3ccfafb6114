"""Financial-effects API (DESIGN §5.2, §9): effect values, validation of actuals, figures, plan
versions and re-baseline requests. Thin: each endpoint calls one service or selector."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import cached_response
from config.errors import InvalidInput, NotFound
from measures import permissions, selectors, services
from measures.api.effects_serializers import (
    DecisionCommentSerializer,
    EffectGridSerializer,
    EffectImportResultSerializer,
    EffectImportSerializer,
    EffectValueCreateSerializer,
    EffectValueSerializer,
    EffectValueUpdateSerializer,
    GridSavedSerializer,
    MeasureFiguresSerializer,
    PlanDiffSerializer,
    PlanVersionSerializer,
    RebaselineCreateSerializer,
    RebaselineRequestSerializer,
    ScopeFiguresSerializer,
    ShortfallReasonSerializer,
    SubmittedSerializer,
)
from measures.api.serializers import MeasureSerializer
from measures.filters import EffectValueFilter, PlanVersionFilter, RebaselineRequestFilter
from measures.models import EffectLine, EffectValue, Measure, PlanVersion, RebaselineRequest


def visible_measure(request, pk: int) -> Measure:
    measure = permissions.visible_measures(request.user).select_related("package").filter(pk=pk).first()
    if measure is None:
        raise NotFound("No such measure.")
    return measure


class EffectValueViewSet(viewsets.ModelViewSet):
    """Monthly effect values of the measures the caller may see; every write goes through the
    stage rules of `services.effects` (409 with the reason when the stage forbids it)."""

    serializer_class = EffectValueSerializer
    filterset_class = EffectValueFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering_fields = ["month", "series", "amount", "id"]
    ordering = ["measure", "line", "month", "series"]

    def get_queryset(self):
        return EffectValue.objects.filter(measure__in=permissions.visible_measures(self.request.user))

    @extend_schema(request=EffectValueCreateSerializer, responses={201: EffectValueSerializer})
    def create(self, request):
        data = EffectValueCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line: EffectLine = data.validated_data["line"]
        if not permissions.visible_measures(request.user).filter(pk=line.measure_id).exists():
            raise InvalidInput("Unknown effect line.", details={"line": ["No such effect line."]})
        value = services.effect_value_set(by=request.user, **data.validated_data)
        return Response(EffectValueSerializer(value).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EffectValueUpdateSerializer, responses={200: EffectValueSerializer})
    def partial_update(self, request, pk=None):
        data = EffectValueUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value = services.effect_value_update(value=self.get_object(), by=request.user, **data.validated_data)
        return Response(EffectValueSerializer(value).data)

    @extend_schema(exclude=True)
    def update(self, request, pk=None):  # PUT is not offered; PATCH changes the amount
        return self.partial_update(request, pk)

    def perform_destroy(self, instance):
        services.effect_value_delete(value=instance, by=self.request.user)

    @extend_schema(request=DecisionCommentSerializer, responses={200: EffectValueSerializer})
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        """A controller of the scope validates a submitted actual."""
        data = DecisionCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value = services.actual_validate(value=self.get_object(), by=request.user, **data.validated_data)
        return Response(EffectValueSerializer(value).data)

    @extend_schema(request=DecisionCommentSerializer, responses={200: EffectValueSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """A controller of the scope rejects a submitted actual (comment required)."""
        data = DecisionCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value = services.actual_reject(value=self.get_object(), by=request.user, **data.validated_data)
        return Response(EffectValueSerializer(value).data)

    @extend_schema(responses={200: EffectValueSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="awaiting-validation")
    def awaiting_validation(self, request):
        """Submitted actuals the caller may validate (the controller inbox)."""
        page = self.paginate_queryset(selectors.actuals_awaiting_validation(user=request.user))
        return self.get_paginated_response(EffectValueSerializer(page, many=True).data)


class MeasureFiguresView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeasureFiguresSerializer}, operation_id="measures_figures")
    def get(self, request, pk: int):
        """The derived figures and both lights of one measure (DESIGN §5.2, §5.3)."""
        figures = selectors.measure_figures(measure=visible_measure(request, pk))
        return Response(MeasureFiguresSerializer(figures).data)


class MeasureEffectGridView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=EffectGridSerializer,
        responses={200: GridSavedSerializer},
        operation_id="measures_effect_grid",
    )
    def post(self, request, pk: int):
        """Save a grid of one series (lines × months) in one request; all or nothing."""
        measure = visible_measure(request, pk)
        data = EffectGridSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cells = [(cell["line"], cell["month"], cell["amount"]) for cell in data.validated_data["cells"]]
        saved = services.effect_values_save(
            measure=measure, by=request.user, series=data.validated_data["series"], cells=cells
        )
        return Response({"saved": saved})


class MeasureEffectImportView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=EffectImportSerializer,
        responses={200: EffectImportResultSerializer},
        operation_id="measures_effect_import",
    )
    def post(self, request, pk: int):
        """Import values from CSV (line, month, series, amount). `dry_run` (default true) previews
        with row-level errors; a real run saves every row or none (400 with the row errors)."""
        measure = visible_measure(request, pk)
        data = EffectImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            text = data.validated_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "The file is not UTF-8 text.", details={"file": ["Upload a UTF-8 CSV."]}
            ) from exc
        result = services.effect_values_import(
            measure=measure, by=request.user, text=text, dry_run=data.validated_data["dry_run"]
        )
        return Response(EffectImportResultSerializer(result).data)


class MeasureSubmitActualsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: SubmittedSerializer}, operation_id="measures_submit_actuals")
    def post(self, request, pk: int):
        """Submit every draft actual of the measure for validation."""
        count = services.actuals_submit(measure=visible_measure(request, pk), by=request.user)
        return Response({"submitted": count})


class MeasureClosureShortfallView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ShortfallReasonSerializer,
        responses={200: MeasureSerializer},
        operation_id="measures_closure_shortfall",
    )
    def post(self, request, pk: int):
        """The controller records why the measure may close below its planned run rate."""
        data = ShortfallReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        measure = services.closure_shortfall_record(
            measure=visible_measure(request, pk), by=request.user, **data.validated_data
        )
        return Response(
            MeasureSerializer(selectors.measure_detail(user=request.user, measure_id=measure.pk)).data
        )


class MeasurePlanDiffView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.INT, description="Earlier version number (default: previous)"
            ),
            OpenApiParameter("to", OpenApiTypes.INT, description="Later version number (default: latest)"),
        ],
        responses={200: PlanDiffSerializer},
        operation_id="measures_plan_diff",
    )
    def get(self, request, pk: int):
        """The plan cells that differ between two plan versions."""
        measure = visible_measure(request, pk)
        numbers = list(measure.plan_versions.values_list("number", flat=True))
        if not numbers:
            raise NotFound("The plan is not frozen yet.")
        try:
            to_version = int(request.query_params.get("to") or numbers[-1])
            from_version = int(request.query_params.get("from") or max(to_version - 1, 1))
        except ValueError as exc:
            raise InvalidInput("Versions are numbers.", details={"from": ["A version number."]}) from exc
        if from_version not in numbers or to_version not in numbers:
            raise NotFound(f"{measure.code} has plan versions {', '.join(map(str, numbers))}.")
        diff = selectors.plan_version_diff(measure=measure, from_version=from_version, to_version=to_version)
        return Response(PlanDiffSerializer(diff).data)


class ScopeFiguresView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ScopeFiguresSerializer}, operation_id="scopes_figures")
    def get(self, request, pk: int):
        """Roll-up of everything the caller may see at or below the scope."""

        def figures() -> dict:
            scope = get_object_or_404(permissions.visible_scopes(request.user), pk=pk)
            return ScopeFiguresSerializer(selectors.scope_figures(scope=scope, user=request.user)).data

        return cached_response(request, "scope-figures", figures, pk)


class PortfolioFiguresView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ScopeFiguresSerializer}, operation_id="portfolio_figures")
    def get(self, request):
        """Roll-up of everything the caller may see."""
        return cached_response(
            request,
            "portfolio-figures",
            lambda: ScopeFiguresSerializer(selectors.portfolio_figures(user=request.user)).data,
        )


class PlanVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every frozen plan version of the measures the caller may see, with its cells."""

    serializer_class = PlanVersionSerializer
    filterset_class = PlanVersionFilter
    ordering = ["measure", "number"]
    ordering_fields = ["number", "created_at"]

    def get_queryset(self):
        return PlanVersion.objects.filter(
            measure__in=permissions.visible_measures(self.request.user)
        ).prefetch_related("values")


class RebaselineRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Re-baseline requests: the owner proposes plan cells, a controller approves (version n+1)."""

    serializer_class = RebaselineRequestSerializer
    filterset_class = RebaselineRequestFilter
    ordering = ["-requested_at"]
    ordering_fields = ["requested_at"]

    def get_queryset(self):
        return RebaselineRequest.objects.filter(
            measure__in=permissions.visible_measures(self.request.user)
        ).select_related("version")

    @extend_schema(request=RebaselineCreateSerializer, responses={201: RebaselineRequestSerializer})
    def create(self, request):
        data = RebaselineCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        measure = visible_measure(request, data.validated_data["measure"])
        created = services.rebaseline_request_submit(
            measure=measure,
            by=request.user,
            reason=data.validated_data["reason"],
            values=[dict(cell) for cell in data.validated_data["values"]],
        )
        return Response(RebaselineRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionCommentSerializer, responses={200: RebaselineRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = DecisionCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.rebaseline_request_approve(
            request=self.get_object(), by=request.user, **data.validated_data
        )
        return Response(RebaselineRequestSerializer(decided).data)

    @extend_schema(request=DecisionCommentSerializer, responses={200: RebaselineRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = DecisionCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.rebaseline_request_reject(
            request=self.get_object(), by=request.user, **data.validated_data
        )
        return Response(RebaselineRequestSerializer(decided).data)
