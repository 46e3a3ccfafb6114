"""A write that commits while a read is being computed (ADR 0014).

The reader takes the data version before it computes, so its possibly stale result is stored under
the older version and the next read, at the newer version, computes again. Deterministic: the
write is committed from inside the computation (autocommit, real commits)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from measures import services
from measures.models import Measure
from readcache.selectors import cached_read

pytestmark = [pytest.mark.postgres_concurrency]


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_a_result_computed_across_a_commit_is_not_served_after_it(transactional_db, cast, tree):
    measure = services.measure_create(
        by=cast["pm"], title="Before", objective="Less downtime.", package=tree.package, owner=cast["owner"]
    )

    def read_then_someone_writes() -> str:
        title = Measure.objects.get(pk=measure.pk).title
        current = Measure.objects.get(pk=measure.pk)
        services.measure_update(measure=current, by=cast["pm"], version=current.version, title="After")
        return title

    served = cached_read(
        "title", request=_request(cast["pm"]), key=measure.pk, compute=read_then_someone_writes
    )
    assert served == "Before"
    again = cached_read(
        "title",
        request=_request(cast["pm"]),
        key=measure.pk,
        compute=lambda: Measure.objects.get(pk=measure.pk).title,
    )
    assert again == "After"
