from django.apps import AppConfig


class SchemasAdminConfig(AppConfig):
    name = "schemas_admin"
    verbose_name = "Contracts"
