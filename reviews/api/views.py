"""Thin API over reviews.services and reviews.selectors (DESIGN §9). Each write makes one service
call; domain errors become HTTP codes in config.api.exception_handler."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.errors import NotFound
from measures.models import Measure
from reviews import selectors, services
from reviews.api import serializers as s
from reviews.filters import ActionFilter, FactorFilter, ReviewFilter
from reviews.models import ContributingFactor, FactorCategory, ReviewApproval


class FactorCategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The contributing-factor taxonomy (managed in admin)."""

    queryset = FactorCategory.objects.all()
    serializer_class = s.FactorCategorySerializer
    pagination_class = None


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Post-incident reviews (DESIGN §7, §9). One per major incident, opened on restoration;
    state changes are POSTs to submit / approve / publish / waive / return."""

    serializer_class = s.ReviewSerializer
    filterset_class = ReviewFilter
    ordering_fields = ["due_at", "created_at", "state"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.review_list(user=self.request.user).prefetch_related(
            Prefetch("factors", queryset=ContributingFactor.objects.select_related("category")),
            Prefetch("approvals", queryset=ReviewApproval.objects.order_by("decided_at")),
        )

    def _out(self, review) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data)

    @extend_schema(request=s.ReviewUpdateSerializer, responses={200: s.ReviewSerializer})
    def partial_update(self, request, pk=None):
        """Write sections (the browser autosaves drafts through the same service). After approval
        an edit opens the next revision."""
        data = s.ReviewUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.review_update(review=self.get_object(), by=request.user, **data.validated_data)
        )

    @extend_schema(request=None, responses={200: s.ReviewSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """draft → in_review; 422 lists what is still missing."""
        return self._out(services.review_submit(review=self.get_object(), by=request.user))

    @extend_schema(request=s.ReviewCommentSerializer, responses={200: s.ReviewSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """One sign-off (service owner or MIM of the incident); the second approves. 403 with the
        reason for the submitter, a second sign-off by the same person, or anyone else."""
        data = s.ReviewCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.review_approve(review=self.get_object(), by=request.user, **data.validated_data)
        )

    @extend_schema(request=s.ReviewCommentSerializer, responses={200: s.ReviewSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_draft(self, request, pk=None):
        """in_review → draft (changes requested)."""
        data = s.ReviewCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.review_return(review=self.get_object(), by=request.user, **data.validated_data)
        )

    @extend_schema(request=None, responses={200: s.ReviewSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """approved → published."""
        return self._out(services.review_publish(review=self.get_object(), by=request.user))

    @extend_schema(request=s.WaiveReasonSerializer, responses={200: s.ReviewSerializer})
    @action(detail=True, methods=["post"])
    def waive(self, request, pk=None):
        """draft/in_review → waived, with a reason; incident managers only."""
        data = s.WaiveReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.review_waive(review=self.get_object(), by=request.user, **data.validated_data)
        )

    @extend_schema(responses={200: s.RevisionSerializer(many=True)})
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def revisions(self, request, pk=None):
        """The approved revisions, each frozen when it was approved."""
        return Response(s.RevisionSerializer(self.get_object().revisions.all(), many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", int, description="Revision number to compare from (default: the last approved)."
            ),
            OpenApiParameter(
                "to", int, description="Revision number to compare to (default: the current text)."
            ),
        ],
        responses={200: s.DiffSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def diff(self, request, pk=None):
        """Per section, what changed between two revisions (or a revision and the current text)."""
        review = self.get_object()
        old, new = selectors.revision_pair(
            review, request.query_params.get("from"), request.query_params.get("to")
        )
        return Response(selectors.review_diff(old, new))

    @extend_schema(responses={200: s.PinnedEntrySerializer(many=True)})
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def timeline(self, request, pk=None):
        """The timeline section: the incident's pinned entries."""
        return Response(s.PinnedEntrySerializer(selectors.pinned_timeline(self.get_object()), many=True).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def figures(self, request, pk=None):
        """Detection and escalation timing and cadence adherence, from the incidents' metrics."""
        return Response(selectors.review_figures(self.get_object()))


class FactorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Contributing factors of PIRs, each tagged from the taxonomy."""

    serializer_class = s.FactorSerializer
    filterset_class = FactorFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        readable = selectors.review_list(user=self.request.user).values("pk")
        return (
            ContributingFactor.objects.filter(review__in=readable)
            .select_related("category")
            .order_by("review", "position", "id")
        )

    @extend_schema(request=s.FactorCreateSerializer, responses={201: s.FactorSerializer})
    def create(self, request):
        data = s.FactorCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        factor = services.factor_add(by=request.user, **data.validated_data)
        return Response(s.FactorSerializer(factor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.FactorUpdateSerializer, responses={200: s.FactorSerializer})
    def partial_update(self, request, pk=None):
        data = s.FactorUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        factor = services.factor_update(factor=self.get_object(), by=request.user, **data.validated_data)
        return Response(s.FactorSerializer(factor).data)

    def destroy(self, request, pk=None):
        services.factor_remove(factor=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Corrective, preventive and detective actions (DESIGN §7, §9). `state` is the effective
    state: an action linked to a measure follows its DoI (done at 4, verified at 5)."""

    serializer_class = s.ActionSerializer
    filterset_class = ActionFilter
    ordering_fields = ["due_date", "priority", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.action_list(user=self.request.user)

    def _out(self, act, code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=act.pk)).data, status=code)

    @extend_schema(request=s.ActionCreateSerializer, responses={201: s.ActionSerializer})
    def create(self, request):
        data = s.ActionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.action_create(by=request.user, **data.validated_data), status.HTTP_201_CREATED
        )

    @extend_schema(request=s.ActionUpdateSerializer, responses={200: s.ActionSerializer})
    def partial_update(self, request, pk=None):
        data = s.ActionUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return self._out(
            services.action_update(action=self.get_object(), by=request.user, **data.validated_data)
        )

    def _move(self, request, service, **extra):
        return self._out(service(action=self.get_object(), by=request.user, **extra))

    @extend_schema(request=None, responses={200: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._move(request, services.action_accept)

    @extend_schema(request=None, responses={200: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._move(request, services.action_start)

    @extend_schema(request=None, responses={200: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """→ done."""
        return self._move(request, services.action_complete)

    @extend_schema(request=None, responses={200: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """done → verified, by a writer of the PIR other than the owner (403 otherwise)."""
        return self._move(request, services.action_verify)

    @extend_schema(request=s.RationaleSerializer, responses={200: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = s.RationaleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._move(request, services.action_reject, **data.validated_data)

    @extend_schema(request=s.PromoteSerializer, responses={201: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Create a DoI 0 measure in `package` from this action, linked both ways; the yearly cost
        of the incidents it addresses comes back as `baseline_suggestion`. 409 the second time;
        403 when you may not create measures in the package."""
        data = s.PromoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        act = services.action_promote(action=self.get_object(), by=request.user, **data.validated_data)
        return self._out(act, status.HTTP_201_CREATED)

    @extend_schema(request=s.LinkSerializer, responses={200: s.ActionSerializer})
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        """Point this action at an existing measure you may see (several actions may share one)."""
        data = s.LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        measure = Measure.objects.filter(pk=data.validated_data["measure"]).first()
        if measure is None:
            raise NotFound("No such measure.")
        return self._move(request, services.action_link_measure, measure=measure)
