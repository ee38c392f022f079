"""Session, user and message middleware for the browser pages, skipped by the collector API.

API-key clients have no session, user or messages, and setting those up lazily for every
request costs about a tenth of a collector request's CPU. Every other path gets them as usual.
"""

import functools
from collections.abc import Callable

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse


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
