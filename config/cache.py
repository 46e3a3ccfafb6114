"""The Redis cache, failing soft: when Redis cannot be reached every operation is a miss or a no-op,
so pages, the API and its throttling keep serving while Redis is down (ADR 0012)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# Only "Redis is unreachable": a wrong command or a bad value is a bug and still raises.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
WARN_EVERY_SECONDS = 60.0


def _key_not_found(*args: Any, **kwargs: Any) -> int:
    raise ValueError("Key not found (the cache is unreachable).")


def _fail_soft(on_outage: Callable[..., Any]) -> Callable:
    """Run the RedisCache operation; when Redis is unreachable, log and answer `on_outage(...)`."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: FailSoftRedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                self._warn(method.__name__, exc)
                return on_outage(*args, **kwargs)

        return wrapper

    return decorate


class FailSoftRedisCache(RedisCache):
    """Django's RedisCache whose reads miss and whose writes do nothing while Redis is down.

    `incr` raises ValueError as it does for a missing key; `set_many` reports every key as not set.
    The warning is logged at most once a minute per process, not once per request.
    """

    _last_warning = 0.0

    def _warn(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - FailSoftRedisCache._last_warning >= WARN_EVERY_SECONDS:
            FailSoftRedisCache._last_warning = now
            log.warning("Cache unreachable, %s answered as a miss: %s", operation, exc)

    add = _fail_soft(lambda *a, **k: False)(RedisCache.add)
    get = _fail_soft(lambda key, default=None, version=None: default)(RedisCache.get)
    set = _fail_soft(lambda *a, **k: None)(RedisCache.set)
    touch = _fail_soft(lambda *a, **k: False)(RedisCache.touch)
    delete = _fail_soft(lambda *a, **k: False)(RedisCache.delete)
    get_many = _fail_soft(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _fail_soft(lambda *a, **k: False)(RedisCache.has_key)
    incr = _fail_soft(_key_not_found)(RedisCache.incr)
    set_many = _fail_soft(lambda data, *a, **k: list(data))(RedisCache.set_many)
    delete_many = _fail_soft(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _fail_soft(lambda *a, **k: False)(RedisCache.clear)
