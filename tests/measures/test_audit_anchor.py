"""The audit chain's anchor (DESIGN §5.1; ADR 0015): TRUNCATE refused, HMAC-chained checkpoints, and
`verify_audit` naming a cut tail, an emptied table and a forged checkpoint.

Tampering is done as an attacker with database access would: plain SQL with the triggers bypassed
(`SET session_replication_role = replica`), never through our code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from measures import services
from measures.models import AuditCheckpoint, AuditEntry
from measures.services.audit import AuditTampered, audit_checkpoint, checkpoint_time, entry_hash
from measures.tasks import audit_checkpoint_task


@pytest.fixture
def chain(cast, ready_measure):
    gate = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    services.gate_request_approve(request=gate, by=cast["pm"], comment="ok")
    return list(AuditEntry.objects.order_by("id"))


@pytest.fixture
def anchored(chain):
    """The chain, and the checkpoint the beat task wrote of it."""
    audit_checkpoint_task.delay()
    return chain, AuditCheckpoint.objects.get()


@contextmanager
def attacker_sql():
    """A cursor with every trigger off, as a DBA (or anyone with the database password) gets it."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def verify_fails(match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command("verify_audit")


@pytest.mark.parametrize("table", ["measures_auditentry", "measures_auditcheckpoint"])
def test_truncate_is_refused_by_the_database(anchored, table):
    with (
        pytest.raises(DatabaseError, match="Cannot truncate"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {table}")
    assert AuditEntry.objects.count() == len(anchored[0])
    assert AuditCheckpoint.objects.count() == 1


def test_checkpoints_refuse_update_and_delete(anchored):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditCheckpoint.objects.update(row_count=0)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditCheckpoint.objects.all().delete()


def test_intact_log_is_anchored_by_its_checkpoint(anchored, capsys):
    chain, checkpoint = anchored
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert (
        f"Audit log intact: {len(chain)} rows verified, anchored by checkpoint of {checkpoint_time(checkpoint)}."
        in out
    )
    assert f"{len(chain)} rows ending at id {chain[-1].pk}" in out


def test_verify_audit_writes_a_checkpoint_of_what_it_verified(chain, capsys):
    call_command("verify_audit")
    assert "no checkpoint to anchor them yet" in capsys.readouterr().out
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.row_count, checkpoint.last_id, checkpoint.head_hash) == (
        len(chain),
        chain[-1].pk,
        chain[-1].hash,
    )
    call_command("verify_audit", "--no-checkpoint")
    assert "anchored by checkpoint of" in capsys.readouterr().out


def test_checkpoint_task_run_twice_writes_one_checkpoint_then_links_the_next(anchored, cast, ready_measure):
    chain, first = anchored
    audit_checkpoint_task.delay()
    assert list(AuditCheckpoint.objects.all()) == [first]
    services.measure_hold(measure=ready_measure, by=cast["pm"], reason="budget review")
    audit_checkpoint_task.delay()
    audit_checkpoint_task.delay()
    second = AuditCheckpoint.objects.order_by("id").last()
    assert AuditCheckpoint.objects.count() == 2
    assert second.prev_mac == first.mac and second.row_count > len(chain)
    assert services.audit_verify() is None


def test_an_edited_row_is_named(anchored):
    target = anchored[0][2]
    with attacker_sql() as cursor:
        cursor.execute(
            "UPDATE measures_auditentry SET comment = 'approved by nobody' WHERE id = %s", [target.pk]
        )
    verify_fails(f"row {target.pk} — its content does not match its hash")


def test_two_swapped_rows_are_named(anchored):
    first, second = anchored[0][1], anchored[0][2]
    with attacker_sql() as cursor:
        cursor.execute("UPDATE measures_auditentry SET id = -1 WHERE id = %s", [first.pk])
        cursor.execute("UPDATE measures_auditentry SET id = %s WHERE id = %s", [first.pk, second.pk])
        cursor.execute("UPDATE measures_auditentry SET id = %s WHERE id = -1", [second.pk])
    verify_fails(f"row {first.pk} — its link to the previous row is broken")


def test_a_deleted_middle_row_is_named(anchored):
    chain = anchored[0]
    with attacker_sql() as cursor:
        cursor.execute("DELETE FROM measures_auditentry WHERE id = %s", [chain[1].pk])
    verify_fails(f"row {chain[2].pk} — its link to the previous row is broken")


def test_a_cut_tail_is_named(anchored):
    chain, checkpoint = anchored
    with attacker_sql() as cursor:
        cursor.execute("DELETE FROM measures_auditentry WHERE id >= %s", [chain[-2].pk])
    verify_fails(
        re.escape(
            f"the chain ends at row {chain[-3].pk} ({len(chain) - 2} rows) but checkpoint of "
            f"{checkpoint_time(checkpoint)} saw {len(chain)} rows ending at id {chain[-1].pk}"
        )
    )


def test_the_checkpoint_task_refuses_to_anchor_a_cut_tail(anchored):
    chain = anchored[0]
    with attacker_sql() as cursor:
        cursor.execute("DELETE FROM measures_auditentry WHERE id = %s", [chain[-1].pk])
    with pytest.raises(AuditTampered, match="rows were cut from the end"):
        audit_checkpoint()
    assert AuditCheckpoint.objects.count() == 1


def test_an_emptied_table_is_named(anchored):
    chain, checkpoint = anchored
    with attacker_sql() as cursor:  # with triggers off, TRUNCATE goes through
        cursor.execute("TRUNCATE measures_auditentry")
    verify_fails(
        re.escape(f"the table is empty but checkpoint of {checkpoint_time(checkpoint)} saw {len(chain)} rows")
    )


def test_a_checkpoint_edited_to_match_a_cut_tail_is_forged(anchored):
    chain, checkpoint = anchored
    with attacker_sql() as cursor:
        cursor.execute("DELETE FROM measures_auditentry WHERE id = %s", [chain[-1].pk])
        cursor.execute(
            "UPDATE measures_auditcheckpoint SET row_count = %s, last_id = %s, head_hash = %s",
            [len(chain) - 1, chain[-2].pk, chain[-2].hash],
        )
    verify_fails(f"checkpoint {checkpoint.pk} of .* is forged: its MAC does not match")


def test_a_checkpoint_written_without_the_key_is_forged(anchored):
    chain, checkpoint = anchored
    with attacker_sql() as cursor:
        cursor.execute(
            "INSERT INTO measures_auditcheckpoint (at, row_count, last_id, head_hash, prev_mac, mac) "
            "VALUES (now(), 1, %s, %s, %s, %s)",
            [chain[0].pk, chain[0].hash, checkpoint.mac, "f" * 64],
        )
    verify_fails("checkpoint .* is forged")


def test_a_removed_checkpoint_is_named(anchored, cast, ready_measure):
    first = anchored[1]
    services.measure_hold(measure=ready_measure, by=cast["pm"], reason="budget review")
    audit_checkpoint()
    services.measure_resume(measure=ready_measure, by=cast["pm"])
    last = audit_checkpoint()
    with attacker_sql() as cursor:
        cursor.execute("DELETE FROM measures_auditcheckpoint WHERE id > %s AND id < %s", [first.pk, last.pk])
    verify_fails(f"checkpoint {last.pk} of .* does not follow the one before it")


def test_a_consistent_rewrite_of_the_chain_is_named(anchored):
    """A DBA who knows the hash recipe rewrites a row and re-hashes every row after it: the chain is
    consistent again, but not what the checkpoint saw."""
    chain = anchored[0]
    previous = chain[0].hash
    with attacker_sql() as cursor:
        for entry in chain[1:]:
            entry.prev_hash = previous
            if entry.pk == chain[1].pk:
                entry.comment = "approved by nobody"
            entry.hash = entry_hash(entry)
            cursor.execute(
                "UPDATE measures_auditentry SET comment = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [entry.comment, entry.prev_hash, entry.hash, entry.pk],
            )
            previous = entry.hash
    verify_fails(f"row {chain[-1].pk} — its hash is not the one checkpoint of .* saw")


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


def test_the_command_exits_non_zero_on_a_cut_tail(transactional_db, anchored):
    """What an operator or a cron job sees."""
    chain, checkpoint = anchored
    intact = _verify_audit_process()
    assert intact.returncode == 0, intact.stderr
    assert (
        f"Audit log intact: {len(chain)} rows verified, anchored by checkpoint of {checkpoint_time(checkpoint)}."
        in intact.stdout
    )
    with attacker_sql() as cursor:
        cursor.execute("DELETE FROM measures_auditentry WHERE id = %s", [chain[-1].pk])
    cut = _verify_audit_process()
    assert cut.returncode == 1
    assert (
        f"checkpoint of {checkpoint_time(checkpoint)} saw {len(chain)} rows ending at id {chain[-1].pk}"
        in cut.stderr
    )
