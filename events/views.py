"""HTTP endpoints of the events app: the collector and the health checks."""

import time

from confluent_kafka import KafkaException
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import envelope, metrics
from .authentication import ClientAPIKeyAuthentication
from .collector import collect
from .exceptions import BrokerUnavailable
from .negotiation import CollectorContentNegotiation
from .parsers import EventsJSONParser, EventsTextParser
from .producer import DeliveryFailed, get_producer
from .throttling import ClientKeyRateThrottle

_ENVELOPE = envelope.openapi_schema()
_BODY = {
    "oneOf": [
        _ENVELOPE,
        {
            "type": "array",
            "items": _ENVELOPE,
            "minItems": 1,
            "maxItems": settings.COLLECTOR_MAX_BATCH_SIZE,
        },
    ]
}
_RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"index": {"type": "integer"}, "event_id": {"type": "string"}},
            },
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "code": {"type": "string", "enum": ["invalid", "not_an_object", "too_large"]},
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
}


class CollectView(APIView):
    """Accept analytics events and store them in the raw Kafka topic."""

    authentication_classes = [ClientAPIKeyAuthentication]
    permission_classes = []
    throttle_classes = [ClientKeyRateThrottle]
    parser_classes = [EventsJSONParser, EventsTextParser]
    content_negotiation_class = CollectorContentNegotiation

    @extend_schema(
        operation_id="collect_events",
        summary="Send one event, or a batch of events",
        description=(
            "Body: one event object, or an array of up to COLLECTOR_MAX_BATCH_SIZE events, as "
            "`application/json` (or `text/plain`, for `navigator.sendBeacon`); optionally "
            "`Content-Encoding: gzip`. Authenticate with the client app's key: "
            "`Authorization: Api-Key <key>`, the `X-Api-Key` header or the `api_key` query "
            "parameter. The answer comes after Kafka acknowledged every accepted event. Invalid "
            "events of a batch are listed under `errors` by index; the others are accepted."
        ),
        request={"application/json": _BODY, "text/plain": _BODY},
        responses={
            202: OpenApiResponse(_RESULT_SCHEMA, "At least one event was stored."),
            400: OpenApiResponse(_RESULT_SCHEMA, "No event was valid, or the body is malformed."),
            401: OpenApiResponse(_ERROR_SCHEMA, "Missing or unknown API key."),
            413: OpenApiResponse(_ERROR_SCHEMA, "Body or batch too large."),
            415: OpenApiResponse(_ERROR_SCHEMA, "Not JSON, or an unsupported Content-Encoding."),
            429: OpenApiResponse(
                _ERROR_SCHEMA,
                "Rate limit of this key reached, or too many failed authentications from this "
                "address; see Retry-After.",
            ),
            503: OpenApiResponse(_ERROR_SCHEMA, "Kafka unavailable; nothing stored; Retry-After."),
        },
        examples=[
            OpenApiExample(
                "One event",
                request_only=True,
                value={
                    "event": "checkout_completed",
                    "timestamp": "2026-11-25T10:00:00Z",
                    "platform": "ios",
                    "app_version": "4.2.0",
                    "client_id": "device-6f1c",
                    "properties": {"order_id": "A-1001", "total": 42.5},
                },
            )
        ],
    )
    def post(self, request: Request) -> HttpResponse:
        if request.stream is None:
            raise ParseError("The request body is empty; send a JSON object or array.")
        collected = collect(request.data, request.auth.app.slug, timezone.now())
        for error in collected.errors:
            metrics.EVENTS_REJECTED.labels(reason=error.code).inc()
        if collected.records:
            _store([(record.key, record.value) for record in collected.records])
            metrics.EVENTS_ACCEPTED.inc(len(collected.records))
        accepted = bool(collected.records)
        # Encoded here rather than by DRF's renderer: the body is always this JSON.
        return HttpResponse(
            collected.as_json(),
            status=status.HTTP_202_ACCEPTED if accepted else status.HTTP_400_BAD_REQUEST,
            content_type="application/json",
        )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, APIException):
            metrics.REQUESTS_REJECTED.labels(reason=exc.default_code).inc()
        return super().handle_exception(exc)


def _store(records: list[tuple[bytes, bytes]]) -> None:
    started = time.perf_counter()
    try:
        get_producer().send(settings.KAFKA_RAW_TOPIC, records)
    except DeliveryFailed as exc:
        raise BrokerUnavailable(
            f"Events not stored: {exc}.", settings.COLLECTOR_RETRY_AFTER_SECONDS
        ) from exc
    metrics.PRODUCE_LATENCY.observe(time.perf_counter() - started)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Kafka (with the raw topic) and the database are reachable."""
    checks = {"database": _database_ready(), "kafka": _kafka_ready()}
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _database_ready() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"error: {exc}"
    return "ok"


def _kafka_ready() -> str:
    topic = settings.KAFKA_RAW_TOPIC
    try:
        metadata = get_producer().list_topics(topic, timeout=2.0)
    except KafkaException as exc:
        return f"error: {exc.args[0].str()}"
    error = metadata.topics[topic].error
    return f"error: topic {topic}: {error.str()}" if error else "ok"
