from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.views import healthz

api_v1 = [
    path("", include("measures.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("reviews.api.urls")),
    path("", include("reporting.api.urls")),
]

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("measures.urls")),
    path("", include("incidents.urls")),
    path("", include("reviews.urls")),
    path("", include("reporting.urls")),
]
