"""Client apps authenticate with an API key: ``Authorization: Api-Key <key>``, the ``X-Api-Key``
header, or the ``api_key`` query parameter (``navigator.sendBeacon`` cannot set headers).

Verifying a key costs a database query; at thousands of requests per second that is half of a
request's work. Each process therefore remembers keys it verified for
COLLECTOR_KEY_CACHE_SECONDS, so a revoked key stops working within that time.
"""

import hashlib

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from analytics_site.ratelimit import FailedAuthentication
from analytics_site.recently_verified import RecentlyVerified

from .models import ClientAPIKey

_verified: RecentlyVerified[ClientAPIKey] = RecentlyVerified("COLLECTOR_KEY_CACHE_SECONDS")


class ClientAPIKeyAuthentication(authentication.BaseAuthentication):
    """Sets ``request.auth`` to the caller's :class:`ClientAPIKey`; there is no user."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[None, ClientAPIKey]:
        key = request_key(request)
        if not key:
            raise exceptions.NotAuthenticated(
                "Send the client app's key as 'Authorization: Api-Key <key>' (or in the "
                "X-Api-Key header, or the api_key query parameter)."
            )
        api_key = verified_key(key, FailedAuthentication(request))
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        return None, api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def request_key(request: Request) -> str | None:
    meta = request.META
    scheme, _, key = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme == ClientAPIKeyAuthentication.keyword and key.strip():
        return key.strip()
    return meta.get("HTTP_X_API_KEY") or request.query_params.get("api_key") or None


def verified_key(key: str, failures: FailedAuthentication) -> ClientAPIKey:
    """The usable key matching ``key``, from this process's cache or the database; an address
    with too many failures is refused before the database is asked."""
    digest = hashlib.sha256(key.encode()).digest()
    api_key = _verified.get(digest)
    if api_key is not None:
        return api_key
    failures.check_api()
    try:
        api_key = ClientAPIKey.objects.get_from_key(key)
    except ClientAPIKey.DoesNotExist:
        failures.failed()
        raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from None
    _verified.remember(digest, api_key)
    return api_key
