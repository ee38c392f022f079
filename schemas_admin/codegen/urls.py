from django.urls import path

from .views import CodegenView, ContractCodegenView

urlpatterns = [
    path("<str:language>", CodegenView.as_view(), name="codegen"),
    path("<str:language>/<str:event_name>", ContractCodegenView.as_view(), name="codegen-contract"),
]
