"""Housekeeping of the data version (ADR 0014)."""

from __future__ import annotations

from django.db import connection, transaction

_COMPACT_SQL = """
WITH gone AS (DELETE FROM readcache_datachange RETURNING domain),
     totals AS (DELETE FROM readcache_datachangetotal RETURNING domain, n)
INSERT INTO readcache_datachangetotal (domain, n)
SELECT domain, sum(n) FROM (SELECT domain, 1 AS n FROM gone UNION ALL SELECT domain, n FROM totals) rows
GROUP BY domain
"""


def compact_changes() -> None:
    """Fold the appended change rows into one total per domain; the version stays what it was.
    Writers are never blocked: they only append rows this statement does not see."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_COMPACT_SQL)
