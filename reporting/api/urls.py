from rest_framework.routers import SimpleRouter

from reporting.api import views

router = SimpleRouter()
router.register("report-runs", views.ReportRunViewSet, basename="report-run")

urlpatterns = router.urls
