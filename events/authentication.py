"""Client apps authenticate with an API key: ``Authorization: Api-Key <key>``."""

from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from .models import ClientAPIKey


class ClientAPIKeyAuthentication(authentication.BaseAuthentication):
    """Sets ``request.auth`` to the caller's :class:`ClientAPIKey`; there is no user."""

    key_parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[None, ClientAPIKey]:
        key = self.key_parser.get(request)
        if not key:
            raise exceptions.NotAuthenticated(
                "Send the client app's key as 'Authorization: Api-Key <key>'."
            )
        try:
            api_key = ClientAPIKey.objects.get_from_key(key)
        except ClientAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        return None, api_key

    def authenticate_header(self, request: Request) -> str:
        return self.key_parser.keyword
