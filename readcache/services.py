"""Housekeeping of the data version (ADR 0014)."""

from __future__ import annotations

from django.db import connection, transaction

_COMPACT_SQL = """
WITH gone AS (DELETE FROM readcache_datachange RETURNING 1),
     totals AS (DELETE FROM readcache_datachangetotal RETURNING n)
INSERT INTO readcache_datachangetotal (n)
SELECT (SELECT count(*) FROM gone) + coalesce((SELECT sum(n) FROM totals), 0)
"""


def compact_changes() -> None:
    """Fold the appended change rows into one total; the version stays what it was. Writers are
    never blocked: they only append rows this statement does not see."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_COMPACT_SQL)
