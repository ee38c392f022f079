"""Sign-ins with a username and password, their failures counted per client address.

The admin and dashboard login pages and the code-generation API's HTTP Basic authentication
share the failure budget (AUTH_FAILURE_RATE_LIMIT) with API keys and registry passwords: once an
address has spent it, its next attempts are refused before any password is hashed.
"""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .ratelimit import FailedAuthentication, RateLimited

TOO_MANY = "Too many failed sign-in attempts from your address. Try again in {seconds} seconds."


class LimitedFailuresMixin:
    """For an ``AuthenticationForm``: refuse a spent address, count each failed attempt."""

    def clean(self) -> dict:
        failures = FailedAuthentication(self.request)
        try:
            failures.check()
        except RateLimited as exc:
            raise forms.ValidationError(
                TOO_MANY.format(seconds=exc.retry_after), code="rate_limited"
            ) from None
        try:
            return super().clean()
        except forms.ValidationError:
            failures.failed()
            raise


class LoginForm(LimitedFailuresMixin, AuthenticationForm):
    """The dashboard's login page."""


class AdminLoginForm(LimitedFailuresMixin, AdminAuthenticationForm):
    """The admin's login page (staff only, as Django's own)."""


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's HTTP Basic authentication, with failures counted per client address."""

    def authenticate_credentials(
        self, userid: str, password: str, request: Request
    ) -> tuple[AbstractBaseUser, None]:
        failures = FailedAuthentication(request)
        try:
            failures.check()
        except RateLimited as exc:
            raise exceptions.Throttled(
                exc.retry_after, "Too many failed authentication attempts from this address."
            ) from None
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            failures.failed()
            raise
