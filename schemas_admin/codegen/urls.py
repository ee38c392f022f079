from django.urls import path

from .views import CodegenView

urlpatterns = [
    path("<str:language>", CodegenView.as_view(), name="codegen"),
    path("<str:language>/<str:event_name>", CodegenView.as_view(), name="codegen-contract"),
]
