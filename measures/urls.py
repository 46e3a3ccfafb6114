from django.urls import path

from measures import views

app_name = "measures"
urlpatterns = [
    path("scopes/", views.scope_browser, name="scopes"),
]
