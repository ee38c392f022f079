"""Per-key rate limiting with a fixed-window counter in the default cache.

DRF's own throttles keep a list of request times per client, which grows with the rate; at the
thousands of requests per second a collector sees, a single counter per window is far cheaper.
"""

import time

from django.conf import settings
from django.core.cache import cache
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
        counter = f"collector-rate:{api_key.pk}:{period}:{window}"
        try:
            count = cache.incr(counter)
        except ValueError:  # the window's first request: no counter yet
            count = 1 if cache.add(counter, 1, timeout=period + 1) else cache.incr(counter)
        self.retry_after = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float:
        return self.retry_after
