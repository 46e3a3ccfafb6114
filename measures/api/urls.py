from django.urls import path
from rest_framework.routers import SimpleRouter

from measures.api import views

router = SimpleRouter()
router.register("scopes", views.ScopeViewSet, basename="scope")
router.register("users", views.UserViewSet, basename="user")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("measures", views.MeasureViewSet, basename="measure")
router.register("gate-requests", views.GateRequestViewSet, basename="gate-request")
router.register("effect-lines", views.EffectLineViewSet, basename="effect-line")
router.register("milestones", views.MilestoneViewSet, basename="milestone")
router.register("risks", views.RiskViewSet, basename="risk")
router.register("dependencies", views.DependencyViewSet, basename="dependency")
router.register("documents", views.DocumentViewSet, basename="document")
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    *router.urls,
]
