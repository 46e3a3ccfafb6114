from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("reviews/", views.review_list, name="list"),
    path("reviews/actions/", views.action_board, name="actions"),
    path("reviews/<int:pk>/", views.review_detail, name="detail"),
    path("reviews/<int:pk>/diff/", views.review_diff, name="diff"),
    path("reviews/<int:pk>/sections/", views.review_save, name="save"),
    path("reviews/<int:pk>/do/<slug:name>/", views.review_transition, name="transition"),
    path("reviews/<int:pk>/factors/", views.factor_add, name="factor-add"),
    path("reviews/<int:pk>/factors/<int:factor_pk>/remove/", views.factor_remove, name="factor-remove"),
    path("reviews/<int:pk>/actions/", views.action_add, name="action-add"),
    path("reviews/<int:pk>/actions/<int:action_pk>/do/<slug:name>/", views.action_step, name="action-step"),
    path("reviews/<int:pk>/actions/<int:action_pk>/promote/", views.action_promote, name="action-promote"),
    path("reviews/<int:pk>/actions/<int:action_pk>/link/", views.action_link, name="action-link"),
]
