"""The hash-chained audit log (DESIGN §5.1; ADR 0004)."""

from __future__ import annotations

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from measures import services
from measures.models import AuditEntry


@pytest.fixture
def chain(cast, ready_measure):
    gate = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    services.gate_request_approve(request=gate, by=cast["pm"], comment="ok")
    return list(AuditEntry.objects.order_by("id"))


def test_every_step_is_chained(chain):
    assert [entry.action for entry in chain][-3:] == ["gate_requested", "gate_approved", "transition"]
    for previous, entry in zip(chain, chain[1:], strict=False):
        assert entry.prev_hash == previous.hash
    assert services.audit_verify() is None


def test_verify_audit_passes_on_an_intact_log(chain, capsys):
    call_command("verify_audit")
    assert f"{len(chain)} rows verified" in capsys.readouterr().out


def test_update_and_delete_are_refused_by_the_database(chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=chain[0].pk).update(comment="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=chain[-1].pk).delete()


def test_verify_audit_names_the_first_tampered_row(chain):
    target = chain[-2]
    with pgtrigger.ignore("measures.AuditEntry:append_only"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE measures_auditentry SET comment = 'approved by nobody' WHERE id = %s", [target.pk]
        )
    with pytest.raises(CommandError, match=f"row {target.pk} .*altered"):
        call_command("verify_audit")


def test_verify_audit_notices_a_removed_row(chain):
    removed = chain[1]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE measures_auditentry DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM measures_auditentry WHERE id = %s", [removed.pk])
        cursor.execute("ALTER TABLE measures_auditentry ENABLE TRIGGER USER")
    with pytest.raises(CommandError, match=f"row {chain[2].pk} .*link"):
        call_command("verify_audit")
