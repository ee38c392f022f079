"""Fixed-window rate limits counted in the default cache, and the client address they use.

One cache entry per key and window: a hit costs one round trip to Redis (or one in-process
operation with the local-memory cache), and the count is shared by every process when the cache
is Redis. The collector counts requests
per API key with it; the collector, the registry and password sign-ins (``passwords.py``) count
failed authentication per client address; the registry counts anonymous reads per client address.
"""

import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from rest_framework import exceptions

PERIODS = {"s": 1, "m": 60, "h": 3600}


class RateLimited(Exception):
    """The budget is spent; come back in ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry in {retry_after:.0f}s")
        self.retry_after = max(1, round(retry_after))


def parse_rate(rate: str) -> tuple[int, int]:
    """'50/s' -> (50, 1); '3000/m' -> (3000, 60). Raises ValueError on anything else."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or int(count) < 1 or period[:1] not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate such as '50/s', '3000/m' or '100000/h'")
    return int(count), PERIODS[period[0]]


def _window(key: str, period: int) -> tuple[str, float]:
    """The cache key of the current window, and the seconds until it ends."""
    now = time.time()
    window = int(now // period)
    return f"{key}:{period}:{window}", (window + 1) * period - now


def hit(key: str, period: int) -> tuple[int, float]:
    """Count one hit in ``key``'s current window of ``period`` seconds; return the count so far
    and the seconds left in the window."""
    counter, remaining = _window(key, period)
    return increment(counter, period + 1), remaining


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
    except ValueError:  # the window's first hit: no counter yet
        return 1 if cache.add(counter, 1, timeout=timeout) else cache.incr(counter)


def limit(key: str, rate: str) -> None:
    """Count a hit against ``rate``; raise RateLimited once it is over."""
    allowed, period = parse_rate(rate)
    count, remaining = hit(key, period)
    if count > allowed:
        raise RateLimited(remaining)


def client_address(request: HttpRequest) -> str:
    """Who is calling: REMOTE_ADDR, or behind a reverse proxy the last address of the header
    that proxy sets (CLIENT_ADDRESS_HEADER, such as X-Forwarded-For), the one it appended."""
    header = settings.CLIENT_ADDRESS_HEADER
    if header:
        forwarded = request.headers.get(header, "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")


class FailedAuthentication:
    """Failed authentication from one client address, limited to AUTH_FAILURE_RATE_LIMIT.

    Once the budget is spent, ``check`` refuses further attempts from the address until the
    window ends, before any key or password is looked up: guessing costs the attacker, not the
    database.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.request = request  # read only when a key or password must be checked

    def check(self) -> None:
        allowed, period = parse_rate(settings.AUTH_FAILURE_RATE_LIMIT)
        counter, remaining = _window(self._key(), period)
        if (caches["default"].get(counter) or 0) >= allowed:
            raise RateLimited(remaining)

    def check_api(self) -> None:
        """``check`` for DRF views: a spent budget is DRF's 429, with Retry-After."""
        try:
            self.check()
        except RateLimited as exc:
            raise throttled(exc) from None

    def failed(self) -> None:
        hit(self._key(), parse_rate(settings.AUTH_FAILURE_RATE_LIMIT)[1])

    def _key(self) -> str:
        return f"auth-failures:{client_address(self.request)}"


def throttled(exc: RateLimited) -> exceptions.Throttled:
    """A spent failure budget as DRF's 429, with Retry-After."""
    return exceptions.Throttled(
        exc.retry_after, "Too many failed authentication attempts from this address."
    )
