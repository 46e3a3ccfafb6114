"""Appending to, checkpointing and verifying the hash-chained audit log (DESIGN §5.1; ADR 0004,
ADR 0015)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from measures.models import AuditCheckpoint, AuditEntry

AUDIT_LOCK = 7_201_004  # pg advisory lock key: appends happen one at a time, in id order
CHECKPOINT_LOCK = 7_201_015  # checkpoints are written one at a time; appends never wait for them
GENESIS = "0" * 64
MAC_SALT = "valuegate.audit.checkpoint"

logger = logging.getLogger("valuegate.audit")


def plain(value: Any) -> Any:
    """A JSON value that survives a round trip through jsonb unchanged (no floats, no objects)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    if isinstance(value, float):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return getattr(value, "pk", str(value))


def entry_hash(entry: AuditEntry) -> str:
    content = {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "measure_id": entry.measure_id,
        "before": entry.before,
        "after": entry.after,
        "comment": entry.comment,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_append(
    *,
    actor,
    action: str,
    subject: Any,
    measure_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    comment: str = "",
) -> AuditEntry:
    """Append one row to the chain. Runs inside the caller's transaction, so the row exists exactly
    when the change it records does; the advisory lock serialises appends until commit."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry = AuditEntry(
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_name=getattr(actor, "username", "") or "",
            action=action,
            subject_type=type(subject).__name__.lower() if subject is not None else "",
            subject_id=getattr(subject, "pk", None),
            measure_id=measure_id,
            before=plain(before or {}),
            after=plain(after or {}),
            comment=comment,
            prev_hash=last or GENESIS,
        )
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class AuditProblem:
    """What verification found wrong: a row of the chain (`entry_id`), or the chain as a whole."""

    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason if self.entry_id is None else f"row {self.entry_id} — {self.reason}"


class AuditTampered(Exception):
    """The chain no longer holds what the latest checkpoint saw: no checkpoint is written over it."""

    def __init__(self, problem: AuditProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class AuditHead:
    rows: int
    last_id: int | None
    hash: str


@dataclass(frozen=True)
class AuditCheck:
    rows: int  # rows of the chain walked
    anchor: AuditCheckpoint | None  # the latest checkpoint the chain was compared with
    problem: AuditProblem | None


def checkpoint_time(checkpoint: AuditCheckpoint) -> str:
    return checkpoint.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def checkpoint_mac(checkpoint: AuditCheckpoint, *, secret: str | bytes | None = None) -> str:
    """HMAC-SHA256, keyed from SECRET_KEY, over the checkpoint and the previous checkpoint's MAC."""
    content = {
        "at": checkpoint.at.astimezone(UTC).isoformat(),
        "row_count": checkpoint.row_count,
        "last_id": checkpoint.last_id,
        "head_hash": checkpoint.head_hash,
        "prev_mac": checkpoint.prev_mac,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return salted_hmac(MAC_SALT, canonical, secret=secret, algorithm="sha256").hexdigest()


def _mac_is_valid(checkpoint: AuditCheckpoint) -> bool:
    """Under SECRET_KEY or one of SECRET_KEY_FALLBACKS: rotating the key forges nothing."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        constant_time_compare(checkpoint_mac(checkpoint, secret=secret), checkpoint.mac) for secret in secrets
    )


_HEAD_SQL = (
    "SELECT (SELECT count(*) FROM measures_auditentry), id, hash "
    "FROM measures_auditentry ORDER BY id DESC LIMIT 1"
)


def audit_head() -> AuditHead:
    """Row count, last id and head hash of the chain. One statement is one snapshot, and appends
    commit in id order (the advisory lock), so what it sees is always a whole prefix of the chain."""
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        row = cursor.fetchone()
    return AuditHead(0, None, GENESIS) if row is None else AuditHead(*row)


def _shorter_than(checkpoint: AuditCheckpoint, head: AuditHead) -> AuditProblem:
    saw = f"checkpoint of {checkpoint_time(checkpoint)} saw {checkpoint.row_count} rows"
    if head.rows == 0:
        return AuditProblem(None, f"the table is empty but {saw} (the log was emptied)")
    return AuditProblem(
        None,
        f"the chain ends at row {head.last_id} ({head.rows} rows) but {saw} ending at id "
        f"{checkpoint.last_id} (rows were cut from the end)",
    )


def _not_as_seen(checkpoint: AuditCheckpoint, entry_id: int, entry_hash: str | None) -> AuditProblem | None:
    """The row at the checkpoint's position of the chain must be the one it saw, with its hash."""
    when = checkpoint_time(checkpoint)
    if entry_id != checkpoint.last_id:
        return AuditProblem(
            entry_id,
            f"checkpoint of {when} saw row {checkpoint.last_id} as row {checkpoint.row_count} of the "
            "chain, not this one (rows before it were added or removed)",
        )
    if entry_hash != checkpoint.head_hash:
        return AuditProblem(
            entry_id, f"its hash is not the one checkpoint of {when} saw (the chain was rewritten up to here)"
        )
    return None


def _latest_still_holds(latest: AuditCheckpoint, head: AuditHead) -> AuditProblem | None:
    """The cheap check before a checkpoint is written: the latest one is genuine and its head row is
    still where and what it was. The full walk is `audit_verify`'s."""
    if not _mac_is_valid(latest):
        return _forged(latest)
    if latest.row_count == 0:
        return None
    if head.rows < latest.row_count:
        return _shorter_than(latest, head)
    at_position = AuditEntry.objects.order_by("id").values_list("id", "hash")[latest.row_count - 1]
    return _not_as_seen(latest, *at_position)


def audit_checkpoint() -> AuditCheckpoint:
    """Anchor the chain's row count, last id and head hash in a new checkpoint (ADR 0015) and return
    the latest checkpoint. Safe to run twice: nothing is written until a row has been appended since
    the latest one. Raises `AuditTampered` rather than anchor a chain shorter than, or different from,
    what the latest checkpoint saw. Appends never wait for it (its own lock)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHECKPOINT_LOCK])
        latest = AuditCheckpoint.objects.order_by("-id").first()
        head = audit_head()
        if latest is not None:
            problem = _latest_still_holds(latest, head)
            if problem is not None:
                raise AuditTampered(problem)
            if head.rows == latest.row_count:
                return latest
        checkpoint = AuditCheckpoint(
            at=timezone.now(),
            row_count=head.rows,
            last_id=head.last_id,
            head_hash=head.hash,
            prev_mac=latest.mac if latest is not None else GENESIS,
        )
        checkpoint.mac = checkpoint_mac(checkpoint)
        checkpoint.save(force_insert=True)
    # A copy outside the database, in the logs (ADR 0015).
    logger.info(
        "audit checkpoint %s: rows=%s last_id=%s head=%s mac=%s",
        checkpoint_time(checkpoint),
        checkpoint.row_count,
        checkpoint.last_id,
        checkpoint.head_hash,
        checkpoint.mac,
    )
    return checkpoint


def _forged(checkpoint: AuditCheckpoint) -> AuditProblem:
    return AuditProblem(
        None,
        f"checkpoint {checkpoint.pk} of {checkpoint_time(checkpoint)} is forged: its MAC does not match "
        "(it was edited, or written without the SECRET_KEY)",
    )


def _checkpoints_problem(checkpoints: list[AuditCheckpoint]) -> AuditProblem | None:
    previous = GENESIS
    for checkpoint in checkpoints:
        if not _mac_is_valid(checkpoint):
            return _forged(checkpoint)
        if checkpoint.prev_mac != previous:
            return AuditProblem(
                None,
                f"checkpoint {checkpoint.pk} of {checkpoint_time(checkpoint)} does not follow the one "
                "before it (a checkpoint was removed)",
            )
        previous = checkpoint.mac
    return None


def _chain_problem(checkpoints: list[AuditCheckpoint]) -> tuple[AuditProblem | None, AuditHead]:
    """Walk the chain in id order: each row's link and content, and at each checkpoint's position the
    row that checkpoint saw; then the chain must be at least as long as the latest checkpoint saw."""
    seen_at = {checkpoint.row_count: checkpoint for checkpoint in checkpoints if checkpoint.row_count}
    head = AuditHead(0, None, GENESIS)
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != head.hash:
            return AuditProblem(
                entry.pk, "its link to the previous row is broken (a row was removed or altered)"
            ), head
        if entry_hash(entry) != entry.hash:
            return AuditProblem(entry.pk, "its content does not match its hash (the row was altered)"), head
        head = AuditHead(head.rows + 1, entry.pk, entry.hash)
        checkpoint = seen_at.get(head.rows)
        if checkpoint is not None and (problem := _not_as_seen(checkpoint, entry.pk, entry.hash)):
            return problem, head
    if checkpoints and checkpoints[-1].row_count > head.rows:
        return _shorter_than(checkpoints[-1], head), head
    return None, head


def audit_check() -> AuditCheck:
    """Verify the checkpoints (each MAC, each link to the one before), then the chain against them.
    Checkpoints are read first: every row they saw was committed before the walk starts."""
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    anchor = checkpoints[-1] if checkpoints else None
    problem = _checkpoints_problem(checkpoints)
    if problem is not None:
        return AuditCheck(rows=0, anchor=anchor, problem=problem)
    problem, head = _chain_problem(checkpoints)
    return AuditCheck(rows=head.rows, anchor=anchor, problem=problem)


def audit_verify() -> AuditProblem | None:
    """The first thing wrong with the audit log, or None: an edited, removed or swapped row, a cut
    tail, an emptied table, a forged or removed checkpoint (DESIGN §5.1; ADR 0004, ADR 0015)."""
    return audit_check().problem
