from django.urls import path

from . import metrics, views

urlpatterns = [
    path("api/v1/events", views.CollectView.as_view(), name="collect"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
