from django.urls import path
from rest_framework.routers import SimpleRouter

from measures.api import effects_views, views

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
router.register("effect-values", effects_views.EffectValueViewSet, basename="effect-value")
router.register("plan-versions", effects_views.PlanVersionViewSet, basename="plan-version")
router.register("rebaseline-requests", effects_views.RebaselineRequestViewSet, basename="rebaseline-request")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("measures/<int:pk>/figures/", effects_views.MeasureFiguresView.as_view(), name="measure-figures"),
    path(
        "measures/<int:pk>/effect-grid/",
        effects_views.MeasureEffectGridView.as_view(),
        name="measure-effect-grid",
    ),
    path(
        "measures/<int:pk>/effect-values/import/",
        effects_views.MeasureEffectImportView.as_view(),
        name="measure-effect-import",
    ),
    path(
        "measures/<int:pk>/submit-actuals/",
        effects_views.MeasureSubmitActualsView.as_view(),
        name="measure-submit-actuals",
    ),
    path(
        "measures/<int:pk>/closure-shortfall/",
        effects_views.MeasureClosureShortfallView.as_view(),
        name="measure-closure-shortfall",
    ),
    path(
        "measures/<int:pk>/plan-diff/", effects_views.MeasurePlanDiffView.as_view(), name="measure-plan-diff"
    ),
    path("scopes/<int:pk>/figures/", effects_views.ScopeFiguresView.as_view(), name="scope-figures"),
    path("portfolio/figures/", effects_views.PortfolioFiguresView.as_view(), name="portfolio-figures"),
    *router.urls,
]
