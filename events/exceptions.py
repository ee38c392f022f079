"""API errors and the handler that gives every error the same JSON shape."""

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


class BrokerUnavailable(APIException):
    """Kafka did not acknowledge every accepted event in time; nothing is claimed as stored."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Events could not be stored right now; retry later."
    default_code = "broker_unavailable"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.wait = retry_after  # DRF turns this into a Retry-After header


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with the error's machine-readable ``code`` next to its ``detail``."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException):
        codes = exc.get_codes()
        response.data = {
            "detail": response.data.get("detail", response.data)
            if isinstance(response.data, dict)
            else response.data,
            "code": codes if isinstance(codes, str) else exc.default_code,
        }
    return response
