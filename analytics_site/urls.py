from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .passwords import AdminLoginForm, LoginForm

admin.site.login_form = AdminLoginForm
admin.site.site_header = admin.site.site_title = "Event analytics admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("registry/", include("schemas_admin.registry.urls")),
    path("api/v1/codegen/", include("schemas_admin.codegen.urls")),
    path("dashboard/", include("events.dashboard.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html", authentication_form=LoginForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", RedirectView.as_view(pattern_name="dashboard:overview"), name="home"),
    path("", include("events.urls")),
]
