from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.home, name="home"),
    path("reports/", views.reports, name="reports"),
    path("reports/runs/<int:pk>/", views.run_status, name="run-status"),
    path("reports/runs/<int:pk>/download/", views.run_download, name="run-download"),
]
