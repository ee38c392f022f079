"""Per-key rate limiting with a fixed-window counter in the default cache.

DRF's own throttles keep a list of request times per client, which grows with the rate; at the
thousands of requests per second a collector sees, a single counter per window is far cheaper:
one round trip to Redis per request (or one in-process operation with the local-memory cache);
``analytics_site.ratelimit`` keeps it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from analytics_site.ratelimit import hit, parse_rate


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
        count, self.retry_after = hit(f"collector-rate:{api_key.pk}", period)
        return count <= limit

    def wait(self) -> float:
        return self.retry_after
