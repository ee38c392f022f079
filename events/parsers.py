"""The collector's request parsers: a size-limited, optionally gzip-encoded body, handed on as
bytes (``events.collector`` checks the JSON itself, event by event).

``text/plain`` is taken as well as ``application/json``: a browser's ``navigator.sendBeacon``
can only send "simple" content types without a CORS preflight.
"""

import zlib
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser

from .exceptions import PayloadTooLarge


class EventsJSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        request = parser_context["request"]
        limit = settings.COLLECTOR_MAX_BODY_BYTES
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body exceeds {limit} bytes.")
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
        if encoding == "gzip":
            return gunzip(body, limit)
        if encoding not in ("", "identity"):
            raise UnsupportedMediaType(
                media_type, f"Content-Encoding {encoding!r} is not supported; use gzip."
            )
        return body


class EventsTextParser(EventsJSONParser):
    media_type = "text/plain"


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body, refusing more than ``limit`` bytes of output."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ParseError(f"Body is not valid gzip: {exc}.") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"Decompressed request body exceeds {limit} bytes.")
    if not decompressor.eof:
        raise ParseError("Body is not valid gzip: the stream is truncated.")
    return data
