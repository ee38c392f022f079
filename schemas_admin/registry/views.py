"""Confluent Schema Registry REST endpoints; the logic lives in ``store``."""

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import store
from .auth import require_read, require_write
from .errors import RegistryError, bad_request, no_subject_config

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
View = Callable[..., Any]
logger = logging.getLogger(__name__)


def respond(body: Any, status: int = 200) -> HttpResponse:
    text = body if isinstance(body, str) else json.dumps(body)
    return HttpResponse(text, status=status, content_type=CONTENT_TYPE)


def endpoint(*methods: str, reads: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    """Allow ``methods`` (those in ``reads`` read: they pass ``require_read``; views check
    writes themselves); turn return values into JSON and every error, expected or not, into
    a Confluent error body (clients parse those; an HTML error page would confuse them)."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def handle(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise RegistryError(405, 405, "HTTP 405 Method Not Allowed")
                if request.method in reads:
                    require_read(request)
                return respond(view(request, *args, **kwargs))
            except RegistryError as exc:
                return error_response(exc)
            except Exception as exc:
                return error_response(unexpected(request, exc))

        return handle

    return decorate


def error_response(exc: RegistryError) -> HttpResponse:
    response = respond({"error_code": exc.code, "message": exc.message}, exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="schema-registry"'
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def unexpected(request: HttpRequest, exc: Exception) -> RegistryError:
    """The Confluent error for an exception no registry code anticipated."""
    if isinstance(exc, RequestDataTooBig):
        return RegistryError(413, 413, "The request body is too large.")
    if isinstance(exc, SuspiciousOperation):
        return bad_request(f"Bad request: {exc}")
    logger.exception("registry: %s %s failed", request.method, request.path)
    if isinstance(exc, DatabaseError):
        return RegistryError(500, 50001, f"Error in the backend data store: {exc}")
    return RegistryError(500, 500, f"Internal server error: {type(exc).__name__}")


def flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "false").lower() == "true"


def body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from exc


@endpoint("GET")
def root(request: HttpRequest) -> dict:
    return {}


@endpoint("GET")
def subjects(request: HttpRequest) -> list[str]:
    return store.subjects(flag(request, "deleted"))


@endpoint("POST", "DELETE", reads=("POST",))
def subject(request: HttpRequest, subject: str) -> Any:
    if request.method == "POST":
        found = store.lookup(
            subject, body(request), flag(request, "normalize"), flag(request, "deleted")
        )
        return store.version_body(found)
    require_write(request, subject)
    return store.delete_subject(subject, flag(request, "permanent"))


@endpoint("GET", "POST")
def subject_versions(request: HttpRequest, subject: str) -> Any:
    if request.method == "POST":
        require_write(request, subject)
        payload = body(request)
        return {"id": store.register(subject, payload, flag(request, "normalize"))}
    return [row.version for row in store.versions(subject, flag(request, "deleted"))]


@endpoint("GET", "DELETE")
def subject_version(request: HttpRequest, subject: str, version: str) -> Any:
    if request.method == "DELETE":
        require_write(request, subject)
        return store.delete_version(subject, version, flag(request, "permanent"))
    return store.version_body(store.subject_version(subject, version, flag(request, "deleted")))


@endpoint("GET")
def subject_version_schema(request: HttpRequest, subject: str, version: str) -> str:
    return store.subject_version(subject, version, flag(request, "deleted")).schema.schema


@endpoint("GET")
def referenced_by(request: HttpRequest, subject: str, version: str) -> list[int]:
    return store.referenced_by(store.subject_version(subject, version, deleted=True))


@endpoint("GET")
def schema(request: HttpRequest, schema_id: str) -> dict:
    return store.schema_body(store.schema_by_id(schema_id))


@endpoint("GET")
def schema_text(request: HttpRequest, schema_id: str) -> str:
    return store.schema_by_id(schema_id).schema


@endpoint("GET")
def schema_versions(request: HttpRequest, schema_id: str) -> list[dict]:
    rows = store.schema_usages(schema_id, flag(request, "deleted"))
    return [{"subject": row.subject, "version": row.version} for row in rows]


@endpoint("GET")
def schema_subjects(request: HttpRequest, schema_id: str) -> list[str]:
    return sorted({row.subject for row in store.schema_usages(schema_id, flag(request, "deleted"))})


@endpoint("GET")
def schema_types(request: HttpRequest) -> list[str]:
    return ["AVRO"]


@endpoint("POST", reads=("POST",))
def compatibility(request: HttpRequest, subject: str, version: str | None = None) -> dict:
    reasons = store.check(subject, version, body(request), flag(request, "normalize"))
    result: dict[str, Any] = {"is_compatible": not reasons}
    if flag(request, "verbose"):
        result["messages"] = reasons
    return result


@endpoint("GET", "PUT", "DELETE")
def config(request: HttpRequest, subject: str | None = None) -> dict:
    if request.method == "GET":
        level = store.compatibility(subject)
        if subject is None or flag(request, "defaultToGlobal"):
            level = store.effective_compatibility(subject or "")
        if level is None:
            raise no_subject_config(subject)
        return {"compatibilityLevel": level}
    if request.method == "DELETE" and subject is None:
        raise RegistryError(405, 405, "HTTP 405 Method Not Allowed")
    require_write(request, subject)
    if request.method == "DELETE":
        return {"compatibilityLevel": store.delete_compatibility(subject)}
    payload = body(request)
    level = payload.get("compatibility") if isinstance(payload, dict) else None
    return {"compatibility": store.set_compatibility(subject, level)}


@endpoint("GET")
def mode(request: HttpRequest, subject: str | None = None) -> dict:
    return {"mode": "READWRITE"}


@endpoint("GET", "POST", "PUT", "DELETE")
def not_found(request: HttpRequest, path: str = "") -> None:
    raise RegistryError(404, 404, "HTTP 404 Not Found")
