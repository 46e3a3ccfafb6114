from django.urls import path, re_path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/scopes/<int:pk>/", views.scope_dashboard, name="scope-dashboard"),
    path("inbox/controller/", views.controller_inbox, name="controller-inbox"),
    path("reports/", views.reports, name="reports"),
    path("reports/schedules/", views.schedules, name="schedules"),
    path("reports/schedules/<int:pk>/delete/", views.schedule_delete, name="schedule-delete"),
    re_path(r"^exports/(?P<name>[a-z-]+)\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
    path("reports/runs/<int:pk>/", views.run_status, name="run-status"),
    path("reports/runs/<int:pk>/download/", views.run_download, name="run-download"),
]
