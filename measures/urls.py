from django.urls import path

from measures import views, views_effects

app_name = "measures"
urlpatterns = [
    path("scopes/", views.scope_browser, name="scopes"),
    path("measures/", views.measure_list, name="list"),
    path("measures/new/", views.measure_new, name="new"),
    path("measures/<int:pk>/", views.measure_detail, name="detail"),
    path("measures/<int:pk>/edit/", views.measure_edit, name="edit"),
    path("measures/<int:pk>/gate/", views.gate_panel, name="gate"),
    path("measures/<int:pk>/gate/request/", views.gate_request, name="gate-request"),
    path("gate-requests/<int:pk>/decide/", views.gate_decide, name="gate-decide"),
    path("measures/<int:pk>/state/<str:action>/", views.side_state, name="side-state"),
    path("measures/<int:pk>/status-override/", views.status_override, name="status-override"),
    path("measures/<int:pk>/milestones/", views.milestone_add, name="milestone-add"),
    path("milestones/<int:pk>/complete/", views.milestone_done, name="milestone-complete"),
    path("measures/<int:pk>/risks/", views.risk_add, name="risk-add"),
    path("measures/<int:pk>/effect-lines/", views.effect_line_add, name="effect-line-add"),
    path("measures/<int:pk>/dependencies/", views.dependency_add, name="dependency-add"),
    path("measures/<int:pk>/documents/", views.document_add, name="document-add"),
    path("documents/<int:pk>/download/", views.document_download, name="document"),
    path("measures/<int:pk>/comments/", views.comment_add, name="comment-add"),
    path("approvals/", views.approvals_inbox, name="inbox"),
    path("measures/<int:pk>/effect-grid/", views_effects.effect_grid_save, name="effect-grid"),
    path("measures/<int:pk>/effect-import/", views_effects.effect_import, name="effect-import"),
    path("measures/<int:pk>/actuals/submit/", views_effects.actuals_submit, name="actuals-submit"),
    path("measures/<int:pk>/closure-shortfall/", views_effects.closure_shortfall, name="closure-shortfall"),
    path("rebaseline-requests/<int:pk>/decide/", views_effects.rebaseline_decide, name="rebaseline-decide"),
    path("actuals/awaiting/", views_effects.actuals_awaiting, name="actuals-awaiting"),
    path("effect-values/<int:pk>/decide/", views_effects.actual_decide, name="actual-decide"),
]
