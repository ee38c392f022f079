"""Per-key rate limiting with a fixed-window counter in the default cache.

DRF's own throttles keep a list of request times per client, which grows with the rate; at the
thousands of requests per second a collector sees, a single counter per window is far cheaper:
one round trip to Redis per request (or one in-process operation with the local-memory cache).
"""

import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """'50/s' -> (50, 1); '3000/m' -> (3000, 60). Raises ValueError on anything else."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or int(count) < 1 or period[:1] not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate such as '50/s', '3000/m' or '100000/h'")
    return int(count), PERIODS[period[0]]


def validate_rate(rate: str) -> None:
    try:
        parse_rate(rate)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ClientKeyRateThrottle(BaseThrottle):
    """Allows each API key its ``rate_limit`` requests per window (or the default rate)."""

    def allow_request(self, request: Request, view: object) -> bool:
        api_key = request.auth
        limit, period = parse_rate(api_key.rate_limit or settings.COLLECTOR_DEFAULT_RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        count = increment(f"collector-rate:{api_key.pk}:{period}:{window}", period + 1)
        self.retry_after = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float:
        return self.retry_after


def increment(counter: str, timeout: int) -> int:
    """Add one to ``counter`` (created with ``timeout`` seconds to live); return its value."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        key = cache.make_and_validate_key(counter)
        client = cache._cache.get_client(key, write=True)
        # One round trip: create the window's counter if it is new, then count.
        pipeline = client.pipeline(transaction=False)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return pipeline.execute()[1]
    try:
        return cache.incr(counter)
    except ValueError:  # the window's first request: no counter yet
        return 1 if cache.add(counter, 1, timeout=timeout) else cache.incr(counter)
