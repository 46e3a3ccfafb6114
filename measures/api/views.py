from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from measures import permissions, selectors, services
from measures.api.serializers import (
    MembershipSerializer,
    MeSerializer,
    ScopeCreateSerializer,
    ScopeSerializer,
    ScopeUpdateSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
)
from measures.filters import MembershipFilter, ScopeFilter
from measures.models import Membership

User = get_user_model()


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
