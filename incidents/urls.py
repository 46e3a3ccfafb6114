from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/new/", views.incident_new, name="new"),
    path("incidents/criteria/", views.criteria_check, name="criteria"),
    path("incidents/metrics/", views.metrics, name="metrics"),
    path("incidents/<int:pk>/", views.incident_detail, name="detail"),
    path("incidents/<int:pk>/do/<slug:name>/", views.incident_transition, name="transition"),
    path("incidents/<int:pk>/severity/", views.incident_severity, name="severity"),
    path("incidents/<int:pk>/roles/", views.role_assign, name="role-assign"),
    path("incidents/<int:pk>/timeline/", views.entry_add, name="entry-add"),
    path("incidents/<int:pk>/timeline/<int:entry_pk>/pin/", views.entry_pin, name="entry-pin"),
    path("incidents/<int:pk>/vendors/", views.vendor_add, name="vendor-add"),
    path(
        "incidents/<int:pk>/vendors/<int:escalation_pk>/responded/",
        views.vendor_responded,
        name="vendor-responded",
    ),
    path("incidents/<int:pk>/validation/", views.validation_save, name="validation"),
    path("incidents/<int:pk>/updates/new/", views.update_new, name="update-new"),
    path("incidents/<int:pk>/updates/<int:update_pk>/approve/", views.update_approve, name="update-approve"),
    path("incidents/<int:pk>/times/", views.times_edit, name="times"),
]
