from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api import views

router = SimpleRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("declaration-criteria", views.CriterionViewSet, basename="declaration-criterion")
router.register("status-update-templates", views.TemplateViewSet, basename="status-update-template")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("timeline-entries", views.TimelineEntryViewSet, basename="timeline-entry")
router.register("status-updates", views.StatusUpdateViewSet, basename="status-update")
router.register("incident-roles", views.RoleViewSet, basename="incident-role")
router.register("vendor-escalations", views.VendorEscalationViewSet, basename="vendor-escalation")

urlpatterns = [
    path("metrics/incidents/", views.IncidentMetricsView.as_view(), name="incident-metrics"),
    *router.urls,
]
