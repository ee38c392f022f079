"""The HTTP ceiling of ``bench/collector.py``: the least a collector can do under the same gunicorn.

It reads the body, splits a JSON array into its items, produces each item as it is with the
collector's producer, and answers 202 once Kafka acknowledged them all: no authentication, no
checks, no server fields, no Django request handling. ``gunicorn -c
analytics_site/gunicorn.conf.py bench.ceiling_app:application`` serves it.
"""

import os

import django
import msgspec

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_site.settings")
django.setup()

from django.conf import settings  # noqa: E402

from events.producer import get_producer  # noqa: E402

_split = msgspec.json.Decoder(list[msgspec.Raw]).decode
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "2")]


def application(environ: dict, start_response) -> list[bytes]:
    if environ["REQUEST_METHOD"] != "POST":  # the bench's readiness check
        start_response("200 OK", _HEADERS)
        return [b"{}"]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    items = _split(body) if body.lstrip()[:1] == b"[" else [body]
    get_producer().send(settings.KAFKA_RAW_TOPIC, [(None, bytes(item)) for item in items])
    start_response("202 Accepted", _HEADERS)
    return [b"{}"]
