"""Reads served from the cache while the data they were computed from has not moved (ADR 0014).

A cached read is keyed by what it is, who asked, the data version and the current minute:

- the data version (`data_version`) moves with every committed write to a covered table, so a
  change shows on the next read — no expiry to wait for;
- the minute bounds what moves without a write (an incident's overdue update, a milestone that
  falls due at midnight) to at most `FRESH_SECONDS` old;
- the person: each result is computed with that person's permissions and never served to anyone
  else.

Reads inside a caller's transaction are computed and not cached: the version they see may count
writes that are later rolled back."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import connection

T = TypeVar("T")

FRESH_SECONDS = 60
_MISSING = object()

# The parts of the data version (the domain each covered table moves: readcache/migrations/0001):
# people (users, groups), incidents (incidents and their reviews), value (everything else).
DOMAINS = ("people", "incidents", "value")
# What incident metrics are computed from: a measure's edit leaves them cached.
INCIDENT_DOMAINS = ("people", "incidents")

_VERSION_SQL = """
SELECT db.oid::bigint, parts.domain, parts.n
FROM (SELECT oid FROM pg_database WHERE datname = current_database()) db
LEFT JOIN (
    SELECT domain, sum(n) AS n FROM (
        SELECT domain, n FROM readcache_datachangetotal
        UNION ALL SELECT domain, count(*) FROM readcache_datachange GROUP BY domain
    ) counted GROUP BY domain
) parts ON true
"""


def in_callers_transaction() -> bool:
    """True inside a transaction the caller opened (a test case's own transaction does not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def data_version() -> dict[str, int]:
    """The database's identity and, per domain, the number of committed writing statements on its
    tables. The identity keeps a restored or recreated database from meeting an older one's entries."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        rows = cursor.fetchall()
    version = {"database": rows[0][0], **dict.fromkeys(DOMAINS, 0)}
    version.update({domain: int(n) for _, domain, n in rows if domain is not None})
    return version


def request_version(request) -> dict[str, int]:
    """The data version for this request, read once: the navigation and the body of a page share it.
    Only reads share it; a request that may write asks again each time."""
    if request.method not in ("GET", "HEAD"):
        return data_version()
    version = getattr(request, "_readcache_version", None)
    if version is None:
        version = request._readcache_version = data_version()
    return version


def cached_read(
    name: str, *, request, key: object, compute: Callable[[], T], domains: tuple[str, ...] = DOMAINS
) -> T:
    """`compute()`, or its result from the cache when `name` with `key` was computed for the same
    person at the same version of `domains` within the same minute. `key` must name everything else
    the result depends on (ids, filters, page); its repr is hashed. `domains` must name every domain
    whose tables `compute` reads."""
    user = request.user
    if not getattr(user, "is_authenticated", False) or in_callers_transaction():
        return compute()
    digest = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
    minute = int(time.time() // FRESH_SECONDS)
    version = request_version(request)
    stamp = ".".join(str(version[part]) for part in ("database", *domains))
    cache_key = f"readcache:{name}:{user.pk}:{'+'.join(domains)}:{stamp}:{minute}:{digest}"
    value = cache.get(cache_key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(cache_key, value, timeout=2 * FRESH_SECONDS)
    return value
