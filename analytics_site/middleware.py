"""The site's own middleware: addresses with NUL characters refused; session, user and message
middleware for the browser pages, skipped by the collector API.

API-key clients have no session, user or messages, and setting those up lazily for every
request costs about a tenth of a collector request's CPU. Every other path gets them as usual.
"""

import functools
from collections.abc import Callable

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse


class RefuseNulCharacters:
    """400 for a path or query string with a NUL character (``%00``): PostgreSQL cannot
    compare text with one, so any filter, search or name holding it would fail in the database
    instead of being told what is wrong."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
            return HttpResponse(
                "Bad request: the address contains a NUL character (%00). Remove it.\n",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


@functools.cache
def _collector_path() -> str:
    return reverse("collect")


class _SkippedByCollector:
    get_response: Callable[[HttpRequest], HttpResponseBase]

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info == _collector_path():
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class BrowserSessionMiddleware(_SkippedByCollector, SessionMiddleware):
    pass


class BrowserAuthenticationMiddleware(_SkippedByCollector, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_SkippedByCollector, MessageMiddleware):
    pass
