"""Two incident managers pressing "restore" at the same moment make exactly one transition."""

import threading

import pytest
from django.db import connection

from config.errors import Conflict
from incidents import services
from incidents.choices import EntryKind
from incidents.models import Incident


@pytest.mark.postgres_concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_restores_make_one_transition(walk, people):
    incident = walk("declared")
    barrier = threading.Barrier(2)
    outcomes = []

    def press(user):
        try:
            barrier.wait()
            services.incident_restore(incident=incident, by=user)
            outcomes.append("restored")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(people[name],)) for name in ("mim", "mim2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "restored"]
    assert Incident.objects.get(pk=incident.pk).state == "restored"
    assert incident.timeline.filter(kind=EntryKind.RECOVERY).count() == 1
