from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.root),
    path("subjects", views.subjects),
    path("subjects/<str:subject>", views.subject),
    path("subjects/<str:subject>/versions", views.subject_versions),
    path("subjects/<str:subject>/versions/<str:version>", views.subject_version),
    path("subjects/<str:subject>/versions/<str:version>/schema", views.subject_version_schema),
    path("subjects/<str:subject>/versions/<str:version>/referencedby", views.referenced_by),
    path("schemas/types", views.schema_types),
    path("schemas/ids/<str:schema_id>", views.schema),
    path("schemas/ids/<str:schema_id>/schema", views.schema_text),
    path("schemas/ids/<str:schema_id>/versions", views.schema_versions),
    path("schemas/ids/<str:schema_id>/subjects", views.schema_subjects),
    path("compatibility/subjects/<str:subject>/versions", views.compatibility),
    path("compatibility/subjects/<str:subject>/versions/<str:version>", views.compatibility),
    path("config", views.config),
    path("config/<str:subject>", views.config),
    path("mode", views.mode),
    path("mode/<str:subject>", views.mode),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
