from django.urls import path
from rest_framework.routers import SimpleRouter

from measures.api import views

router = SimpleRouter()
router.register("scopes", views.ScopeViewSet, basename="scope")
router.register("users", views.UserViewSet, basename="user")
router.register("memberships", views.MembershipViewSet, basename="membership")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    *router.urls,
]
