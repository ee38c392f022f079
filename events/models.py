"""Client apps that send events, and the API keys they authenticate with."""

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from .throttling import validate_rate


class ClientApp(models.Model):
    """An application (iOS app, web site, backend service) that sends analytics events."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="Identifies the app in every event it sends."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClientAPIKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        return super().get_usable_keys().select_related("app")


class ClientAPIKey(AbstractAPIKey):
    """A revocable key of one client app; only its hash is stored."""

    objects = ClientAPIKeyManager()

    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="api_keys")
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=(
            "Requests allowed per key, such as '50/s' or '3000/m'. "
            "Empty uses the COLLECTOR_DEFAULT_RATE_LIMIT setting."
        ),
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "client API key"
        verbose_name_plural = "client API keys"
