from django.contrib.auth import authenticate, get_user_model
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import CachedReadsMixin
from config.errors import InvalidInput
from measures import permissions, selectors, services
from measures.api.serializers import (
    AuditEntrySerializer,
    CommentSerializer,
    DependencySerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    EffectLineSerializer,
    GateChecklistSerializer,
    GateDecisionSerializer,
    GateRequestCreateSerializer,
    GateRequestSerializer,
    MeasureReasonSerializer,
    MeasureSerializer,
    MeasureUpdateSerializer,
    MeasureVersionSerializer,
    MeasureWriteSerializer,
    MembershipSerializer,
    MeSerializer,
    MilestoneCompleteSerializer,
    MilestoneSerializer,
    RiskSerializer,
    ScopeCreateSerializer,
    ScopeSerializer,
    ScopeUpdateSerializer,
    StatusOverrideSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
)
from measures.filters import DependencyFilter, GateRequestFilter, MeasureFilter, MembershipFilter, ScopeFilter
from measures.models import Comment, Dependency, Document, EffectLine, Measure, Membership, Milestone, Risk
from measures.services.around import ALLOWED_TYPES

User = get_user_model()


# A download is sent with the type its content was checked against on upload, not octet-stream.
DOCUMENT_DOWNLOAD = {(200, media): OpenApiTypes.BINARY for media in sorted(set(ALLOWED_TYPES.values()))}


class IsAdmin(IsAuthenticated):
    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and permissions.is_admin(request.user)


class TokenView(APIView):
    """Exchange a username and password for the caller's API token; DELETE revokes it."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request=request, **data.validated_data)
        if user is None or not user.is_active:
            return Response(
                {
                    "detail": "Unable to log in with the given username and password.",
                    "code": "authentication_failed",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not request.user.is_authenticated:
            return Response(
                {"detail": "Log in to revoke your token.", "code": "not_authenticated"},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScopeViewSet(viewsets.ModelViewSet):
    serializer_class = ScopeSerializer
    filterset_class = ScopeFilter
    ordering_fields = ["name", "path", "kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.scope_list(user=self.request.user)

    @extend_schema(request=ScopeCreateSerializer, responses={201: ScopeSerializer})
    def create(self, request):
        data = ScopeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scope = services.scope_create(by=request.user, **data.validated_data)
        return Response(ScopeSerializer(scope).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScopeUpdateSerializer, responses={200: ScopeSerializer})
    def partial_update(self, request, pk=None):
        scope = self.get_object()
        data = ScopeUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        move = "parent" in values
        scope = services.scope_update(scope=scope, by=request.user, move=move, **values)
        return Response(ScopeSerializer(scope).data)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Admins list, create and deactivate users; everyone reads `users/me/`."""

    serializer_class = UserSerializer
    permission_classes = [IsAdmin]
    queryset = User.objects.prefetch_related("groups").order_by("username")
    filterset_fields = ["is_active", "username"]

    def get_permissions(self):
        if self.action == "me":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(by=request.user, **data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = services.user_deactivate(user=self.get_object(), by=request.user)
        return Response(UserSerializer(user).data)

    @extend_schema(responses={200: MeSerializer})
    @action(detail=False, methods=["get"])
    def me(self, request):
        return Response(MeSerializer(request.user).data)


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MembershipSerializer
    permission_classes = [IsAdmin]
    queryset = Membership.objects.select_related("user", "scope")
    filterset_class = MembershipFilter

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.membership_create(
            user=data["user"], scope=data["scope"], role=data["role"], by=self.request.user
        )

    def perform_destroy(self, instance):
        services.membership_delete(membership=instance, by=self.request.user)


# --- Measures and their gates (DESIGN §5, §9) -----------------------------------------------------


class MeasureViewSet(
    CachedReadsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Measures the caller may see. Writes and state changes go through `measures.services`."""

    serializer_class = MeasureSerializer
    filterset_class = MeasureFilter
    ordering_fields = ["code", "title", "stage", "updated_at", "created_at", "owner__username"]
    ordering = ["code"]

    def get_queryset(self):
        return selectors.measure_list(user=self.request.user)

    def _measure(self) -> Measure:
        return self.get_object()

    def _fresh(self, measure: Measure) -> Response:
        return Response(
            MeasureSerializer(selectors.measure_detail(user=self.request.user, measure_id=measure.pk)).data
        )

    @extend_schema(request=MeasureWriteSerializer, responses={201: MeasureSerializer})
    def create(self, request):
        data = MeasureWriteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        measure = services.measure_create(by=request.user, **data.validated_data)
        return Response(
            MeasureSerializer(selectors.measure_detail(user=request.user, measure_id=measure.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=MeasureUpdateSerializer, responses={200: MeasureSerializer})
    def partial_update(self, request, pk=None):
        measure = self._measure()
        data = MeasureUpdateSerializer(data=request.data, context={"request": request}, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = values.pop("version", None)
        if version is None:
            raise InvalidInput(
                "Send the `version` you read.", details={"version": ["This field is required."]}
            )
        measure = services.measure_update(measure=measure, by=request.user, version=version, **values)
        return self._fresh(measure)

    @extend_schema(
        methods=["get"],
        request=None,
        responses={200: GateRequestSerializer(many=True)},
        operation_id="measures_gate_requests_list",
    )
    @extend_schema(
        methods=["post"],
        request=GateRequestCreateSerializer,
        responses={201: GateRequestSerializer},
        operation_id="measures_gate_requests_create",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="gate-requests",
        pagination_class=None,
    )
    def gate_requests(self, request, pk=None):
        measure = self._measure()
        if request.method == "GET":
            rows = selectors.gate_request_list(user=request.user).filter(measure=measure)
            return Response(GateRequestSerializer(rows, many=True).data)
        data = GateRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gate_request = services.gate_request_submit(measure=measure, by=request.user, **data.validated_data)
        return Response(GateRequestSerializer(gate_request).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: GateChecklistSerializer})
    @action(detail=True, methods=["get"])
    def criteria(self, request, pk=None):
        """The checklist of the next gate: every criterion, met or not."""
        measure = self._measure()
        to_doi = measure.next_doi
        items = selectors.gate_checklist(measure=measure, to_doi=to_doi) if to_doi else []
        return Response({"to_doi": to_doi, "criteria": [vars(item) for item in items]})

    @extend_schema(request=None, responses={200: AuditEntrySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, pk=None):
        """The measure's governance history from the audit log, newest first."""
        measure = self._measure()
        return Response(
            AuditEntrySerializer(selectors.measure_history(measure=measure)[:200], many=True).data
        )

    @extend_schema(request=MeasureReasonSerializer, responses={200: MeasureSerializer})
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        data = MeasureReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._fresh(
            services.measure_hold(measure=self._measure(), by=request.user, **data.validated_data)
        )

    @extend_schema(request=StatusOverrideSerializer, responses={200: MeasureSerializer})
    @action(detail=True, methods=["post"], url_path="status-override")
    def status_override(self, request, pk=None):
        """Override a status light with a comment (audited); the computed light stays visible."""
        data = StatusOverrideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        measure = services.measure_status_override(
            measure=self._measure(), by=request.user, **data.validated_data
        )
        return self._fresh(measure)

    @extend_schema(request=MeasureVersionSerializer, responses={200: MeasureSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        data = MeasureVersionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._fresh(
            services.measure_resume(measure=self._measure(), by=request.user, **data.validated_data)
        )

    @extend_schema(request=MeasureReasonSerializer, responses={200: MeasureSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = MeasureReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._fresh(
            services.measure_cancel(measure=self._measure(), by=request.user, **data.validated_data)
        )


class GateRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Gate requests on visible measures; approve and reject are the approvers' actions."""

    serializer_class = GateRequestSerializer
    filterset_class = GateRequestFilter
    ordering_fields = ["requested_at", "decided_at", "to_doi"]
    ordering = ["-requested_at"]

    def get_queryset(self):
        return selectors.gate_request_list(user=self.request.user)

    @extend_schema(request=GateDecisionSerializer, responses={200: GateRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = GateDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gate_request = services.gate_request_approve(
            request=self.get_object(), by=request.user, **data.validated_data
        )
        return Response(GateRequestSerializer(self.get_queryset().get(pk=gate_request.pk)).data)

    @extend_schema(request=GateDecisionSerializer, responses={200: GateRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = GateDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gate_request = services.gate_request_reject(
            request=self.get_object(), by=request.user, **data.validated_data
        )
        return Response(GateRequestSerializer(self.get_queryset().get(pk=gate_request.pk)).data)


class MeasurePartViewSet(viewsets.ModelViewSet):
    """CRUD on one kind of part of a measure, through its services (`create`, `update`, `delete`)."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["measure"]
    model: type
    create_service: str
    update_service: str | None = None
    delete_service: str
    instance_arg: str

    def get_queryset(self):
        visible = permissions.visible_measures(self.request.user)
        return self.model.objects.filter(measure__in=visible).select_related("measure")

    def perform_create(self, serializer):
        values = dict(serializer.validated_data)
        measure = values.pop("measure")
        serializer.instance = getattr(services, self.create_service)(
            measure=measure, by=self.request.user, **values
        )

    def perform_update(self, serializer):
        if self.update_service is None:
            raise MethodNotAllowed("PATCH")
        values = dict(serializer.validated_data)
        values.pop("measure", None)
        serializer.instance = getattr(services, self.update_service)(
            **{self.instance_arg: serializer.instance}, by=self.request.user, **values
        )

    def perform_destroy(self, instance):
        getattr(services, self.delete_service)(**{self.instance_arg: instance}, by=self.request.user)


class EffectLineViewSet(MeasurePartViewSet):
    serializer_class = EffectLineSerializer
    model = EffectLine
    create_service, update_service, delete_service, instance_arg = (
        "effect_line_create",
        "effect_line_update",
        "effect_line_delete",
        "line",
    )
    ordering_fields = ["id", "annual_potential", "account"]


class MilestoneViewSet(MeasurePartViewSet):
    serializer_class = MilestoneSerializer
    model = Milestone
    create_service, update_service, delete_service, instance_arg = (
        "milestone_create",
        "milestone_update",
        "milestone_delete",
        "milestone",
    )
    ordering_fields = ["due_date", "id"]

    @extend_schema(request=MilestoneCompleteSerializer, responses={200: MilestoneSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        data = MilestoneCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = services.milestone_complete(
            milestone=self.get_object(), by=request.user, **data.validated_data
        )
        return Response(MilestoneSerializer(milestone).data)


class RiskViewSet(MeasurePartViewSet):
    serializer_class = RiskSerializer
    model = Risk
    create_service, update_service, delete_service, instance_arg = (
        "risk_create",
        "risk_update",
        "risk_delete",
        "risk",
    )
    ordering_fields = ["id", "probability", "impact"]


class CommentViewSet(MeasurePartViewSet):
    serializer_class = CommentSerializer
    model = Comment
    http_method_names = ["get", "post", "head", "options"]
    ordering_fields = ["created_at"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.comment_create(
            measure=data["measure"], by=self.request.user, body=data["body"]
        )


class DependencyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Blocks / relates / overlaps links; the overlaps form the overlap register."""

    serializer_class = DependencySerializer
    filterset_class = DependencyFilter
    ordering_fields = ["id", "share_percent"]

    def get_queryset(self):
        visible = permissions.visible_measures(self.request.user)
        return Dependency.objects.filter(source__in=visible, target__in=visible)

    def perform_create(self, serializer):
        serializer.instance = services.dependency_create(by=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.dependency_delete(dependency=instance, by=self.request.user)


class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Documents of visible measures; the file itself only through `download/`."""

    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["measure", "kind"]
    ordering_fields = ["uploaded_at", "filename", "size"]

    def get_queryset(self):
        return Document.objects.filter(measure__in=permissions.visible_measures(self.request.user))

    @extend_schema(request=DocumentUploadSerializer, responses={201: DocumentSerializer})
    def create(self, request):
        data = DocumentUploadSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        document = services.document_upload(
            measure=data.validated_data["measure"],
            by=request.user,
            uploaded_file=data.validated_data["file"],
            kind=data.validated_data.get("kind", "other"),
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.document_delete(document=instance, by=self.request.user)

    @extend_schema(request=None, responses=DOCUMENT_DOWNLOAD)
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        return document_response(self.get_object())


def document_response(document: Document) -> FileResponse:
    """The stored file as an attachment with its checked type and sanitised name."""
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename)
    response["Content-Type"] = document.content_type
    return response
