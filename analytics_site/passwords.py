"""Sign-ins with a username and password: their failures counted per client address, their
successes remembered for a while.

``RememberingModelBackend``, which every password check goes through (the admin and dashboard
login pages, the registry, the code-generation API's HTTP Basic authentication), counts failed
ones against the budget they share with API keys (AUTH_FAILURE_RATE_LIMIT). Once an address has
spent it, the backend raises ``RateLimited`` before any password is hashed, and each caller
answers in its own form: a form error here, a 429 in the APIs.

Django's password hasher takes a fifth of a second on purpose; registry and code-generation
clients send their password with every request. ``RememberingModelBackend`` therefore lets a
process skip the hasher for a pair it verified in the last PASSWORD_CACHE_SECONDS, as long as
the user's stored password and active flag are unchanged (checked with one query each time).
"""

import hashlib
import hmac

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from drf_spectacular.authentication import BasicScheme
from rest_framework import authentication
from rest_framework.request import Request

from .ratelimit import FailedAuthentication, RateLimited, throttled
from .recently_verified import RecentlyVerified

TOO_MANY = "Too many failed sign-in attempts from your address. Try again in {seconds} seconds."


class LimitedFailuresMixin:
    """For an ``AuthenticationForm``: a spent address is told so on the form."""

    def clean(self) -> dict:
        try:
            return super().clean()
        except RateLimited as exc:
            raise forms.ValidationError(
                TOO_MANY.format(seconds=exc.retry_after), code="rate_limited"
            ) from None


class LoginForm(LimitedFailuresMixin, AuthenticationForm):
    """The dashboard's login page."""


class AdminLoginForm(LimitedFailuresMixin, AdminAuthenticationForm):
    """The admin's login page (staff only, as Django's own)."""


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's HTTP Basic authentication, a spent address answered with 429."""

    def authenticate_credentials(
        self, userid: str, password: str, request: Request
    ) -> tuple[AbstractBaseUser, None]:
        try:
            return super().authenticate_credentials(userid, password, request)
        except RateLimited as exc:
            raise throttled(exc) from None


class BasicAuthenticationScheme(BasicScheme):
    """The OpenAPI document describes it as HTTP Basic, as DRF's own."""

    target_class = BasicAuthentication


# hmac(SECRET_KEY, username and password) -> (user's primary key, stored password hash)
_verified: RecentlyVerified[tuple[object, str]] = RecentlyVerified("PASSWORD_CACHE_SECONDS")


class RememberingModelBackend(ModelBackend):
    """Django's ModelBackend, counting failures per client address and skipping the hasher
    for a pair this process verified recently."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ) -> AbstractBaseUser | None:
        if username is None or password is None:
            return super().authenticate(request, username, password, **kwargs)
        failures = FailedAuthentication(request) if request is not None else None
        if failures is not None:
            failures.check()  # raises RateLimited
        user = self._verify(request, username, password, **kwargs)
        if user is None and failures is not None:
            failures.failed()
        return user

    def _verify(
        self, request: HttpRequest | None, username: str, password: str, **kwargs
    ) -> AbstractBaseUser | None:
        if "\x00" in username:  # no user has one, and PostgreSQL refuses to compare it
            return None
        pair = hmac.new(
            settings.SECRET_KEY.encode(), f"{username}\0{password}".encode(), hashlib.sha256
        ).digest()
        remembered = _verified.get(pair)
        if remembered is not None:
            pk, stored = remembered
            user = get_user_model()._default_manager.filter(pk=pk).first()
            # A changed password or a deactivated account takes effect at once.
            if user is not None and user.password == stored and self.user_can_authenticate(user):
                return user
        user = super().authenticate(request, username, password, **kwargs)
        if user is not None:
            _verified.remember(pair, (user.pk, user.password))
        return user
