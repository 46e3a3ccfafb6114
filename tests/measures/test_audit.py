"""The hash-chained audit log (DESIGN §5.1; ADR 0004)."""

from __future__ import annotations

import os
import subprocess
import sys

import pgtrigger
import pytest
from django.conf import settings
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


def test_verify_audit_notices_two_rows_swapped(chain):
    first, second = chain[1], chain[2]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE measures_auditentry DISABLE TRIGGER USER")
        cursor.execute("UPDATE measures_auditentry SET id = -1 WHERE id = %s", [first.pk])
        cursor.execute("UPDATE measures_auditentry SET id = %s WHERE id = %s", [first.pk, second.pk])
        cursor.execute("UPDATE measures_auditentry SET id = %s WHERE id = -1", [second.pk])
        cursor.execute("ALTER TABLE measures_auditentry ENABLE TRIGGER USER")
    with pytest.raises(CommandError, match=f"row {first.pk} .*link"):
        call_command("verify_audit")


def _verify_audit_process() -> subprocess.CompletedProcess:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=settings.BASE_DIR,
        env=os.environ | {"DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_exits_non_zero_naming_the_row(transactional_db, chain):
    """What an operator or a cron job sees: exit 0 on an intact log, 1 and the row on a tampered one."""
    assert _verify_audit_process().returncode == 0
    target = chain[-1]
    with pgtrigger.ignore("measures.AuditEntry:append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE measures_auditentry SET after = '{}' WHERE id = %s", [target.pk])
    tampered = _verify_audit_process()
    assert tampered.returncode == 1
    assert f"row {target.pk}" in tampered.stderr and "altered" in tampered.stderr
