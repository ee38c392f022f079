"""HTTP Basic authentication, as Confluent clients send it (basic.auth.user.info): for writes,
and for reads when REGISTRY_REQUIRE_AUTH_FOR_READS is set; anonymous reads are rate limited.

Besides Django users, the registry knows one built-in account: the publisher, whose password
is an HMAC of SECRET_KEY (never public: the app refuses to run without a real key), so that the
admin's publishing task can write to the built-in registry with no configuration.
"""

import base64
import binascii
import hashlib
import hmac

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from analytics_site.ratelimit import FailedAuthentication, RateLimited, client_address, limit

from ..permissions import contract_for_subject, is_analyst
from .errors import RegistryError

PUBLISHER = "schemas-admin-publisher"


def publisher_password() -> str:
    return hmac.new(settings.SECRET_KEY.encode(), PUBLISHER.encode(), hashlib.sha256).hexdigest()


def credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def principal(request: HttpRequest) -> AbstractBaseUser | str:
    """The authenticated principal (a user, or PUBLISHER); 401 when there is none. Failures
    count against the client address (in the authentication backend, ``passwords.py``), which
    gets 429 once it has failed too often."""
    found = credentials(request)
    if found is not None:
        username, password = found
        try:
            if username == PUBLISHER:  # not a user: the backend does not check this one
                FailedAuthentication(request).check()
                if hmac.compare_digest(password, publisher_password()):
                    return PUBLISHER
            user = authenticate(request, username=username, password=password)
        except RateLimited as exc:
            raise RegistryError(
                429,
                42901,
                "Too many failed authentication attempts from this address.",
                exc.retry_after,
            ) from None
        if user is not None and user.is_active:
            return user
    raise RegistryError(401, 401, "Unauthorized: send valid HTTP Basic credentials.")


def require_read(request: HttpRequest) -> None:
    """Reads with credentials need valid ones; reads without are refused when
    REGISTRY_REQUIRE_AUTH_FOR_READS is set, and limited per client address otherwise (the
    publisher and users, who authenticate, are not limited)."""
    if credentials(request) is not None:
        principal(request)
        return
    if settings.REGISTRY_REQUIRE_AUTH_FOR_READS:
        raise RegistryError(401, 401, "Unauthorized: this registry needs credentials to read.")
    try:
        limit(f"registry-reads:{client_address(request)}", settings.REGISTRY_READ_RATE_LIMIT)
    except RateLimited as exc:
        raise RegistryError(
            429, 42901, "Too many registry reads from this address.", exc.retry_after
        ) from None


def require_write(request: HttpRequest, subject: str | None) -> None:
    """Writes need a principal. A contract's subject changes only through the publish workflow
    (the publisher account), so that no API call bypasses review; global settings (subject
    None) need a superuser; analysts never write."""
    user = principal(request)
    if user == PUBLISHER:
        return
    contract = contract_for_subject(subject) if subject is not None else None
    if contract is not None:
        raise RegistryError(
            403,
            40301,
            f"Subject '{subject}' belongs to the contract '{contract}': it changes only "
            "through the admin's publish workflow (write a new version of the contract, then "
            "publish it), so that every change is reviewed.",
        )
    allowed = user.is_superuser if subject is None else not is_analyst(user)
    if not allowed:
        raise RegistryError(403, 40301, f"User is denied operation Write on Subject: {subject}")
