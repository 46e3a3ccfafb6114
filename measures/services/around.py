"""Effect lines, milestones, risks, dependencies, documents and comments (DESIGN §5.2, §5.4).

Every write needs the right to edit the measure: its owner, a program manager of its scope, or an
admin. Closed and cancelled measures are read-only.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import get_valid_filename

from config.errors import Conflict, InvalidInput, PermissionRefused, TooLarge
from config.limits import LINE_MAX_CHARS, check_text_lengths
from measures import permissions
from measures.choices import DependencyKind, DocumentKind, Hardness, Nature, Recurrence, Stage
from measures.models import Comment, Dependency, Document, EffectLine, Measure, Milestone, Risk
from measures.services.audit import audit_append
from measures.services.effects import value_delete_audited
from measures.services.measures import measure_for_update

READ_ONLY_STAGES = (Stage.CLOSED, Stage.CANCELLED)
# Text fields of the things around a measure that are one line; the rest are TEXT_MAX_CHARS.
LINE_TEXT_FIELDS = {"title": LINE_MAX_CHARS, "account": LINE_MAX_CHARS}


def _editable(measure: Measure, by) -> Measure:
    """Lock the measure and check `by` may change what belongs to it."""
    measure = measure_for_update(measure_id=measure.pk, by=by)
    if not permissions.can_edit_measure(by, measure):
        raise PermissionRefused("Only the measure's owner or a program manager of its scope may change it.")
    if measure.stage in READ_ONLY_STAGES:
        raise Conflict(f"A {measure.get_stage_display().lower()} measure is read-only.")
    return measure


def _set(obj: Any, values: dict[str, Any], allowed: list[str]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise InvalidInput(f"Unknown or read-only fields: {', '.join(sorted(unknown))}.")
    check_text_lengths(values, limits=LINE_TEXT_FIELDS)
    for name, value in values.items():
        setattr(obj, name, value)


def _full_clean(obj: Any) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean(exclude=["measure", "file"])
    except ValidationError as exc:
        raise InvalidInput("Please correct the highlighted fields.", details=exc.message_dict) from exc


# --- Effect lines ------------------------------------------------------------------------------

LINE_FIELDS = [
    "account",
    "recurrence",
    "nature",
    "hardness",
    "annual_potential",
    "baseline_value",
    "baseline_definition",
]


def effect_accounts() -> list[str]:
    return list(settings.VALUEGATE_EFFECT_ACCOUNTS)


def _check_line(line: EffectLine) -> None:
    if line.account not in effect_accounts():
        raise InvalidInput(
            f"Unknown account '{line.account}'.",
            details={"account": [f"Choose one of: {', '.join(effect_accounts())}."]},
        )
    _full_clean(line)
    if line.annual_potential is not None and line.annual_potential < 0:
        raise InvalidInput(
            "The annualized potential cannot be negative.",
            details={"annual_potential": ["Enter zero or a positive amount."]},
        )


def _line_measure(measure: Measure, by) -> Measure:
    """Lines are part of the plan: fixed from DoI 3 on, on hold included (the locks follow the DoI
    the measure holds, not its side state; DESIGN §5.1)."""
    measure = _editable(measure, by)
    if measure.doi >= 3:
        raise Conflict(
            "Effect lines are fixed from DoI 3 (Decided) on, also while the measure is on hold; "
            "a re-baseline changes the plan."
        )
    return measure


def _audit_delete(obj: Any, by, measure_id: int, what: dict[str, Any]) -> None:
    """Every delete of something of a measure leaves its audit row in the same transaction."""
    audit_append(
        actor=by,
        action=f"{obj._meta.model_name}_deleted",
        subject=obj,
        measure_id=measure_id,
        before=what,
    )


def effect_line_create(*, measure: Measure, by, **values: Any) -> EffectLine:
    with transaction.atomic():
        measure = _line_measure(measure, by)
        line = EffectLine(
            measure=measure,
            recurrence=Recurrence.RECURRING,
            nature=Nature.BENEFIT,
            hardness=Hardness.HARD,
        )
        _set(line, values, LINE_FIELDS)
        _check_line(line)
        line.save()
    return line


def effect_line_update(*, line: EffectLine, by, **values: Any) -> EffectLine:
    with transaction.atomic():
        _line_measure(line.measure, by)
        line = EffectLine.objects.select_for_update().get(pk=line.pk)
        _set(line, values, LINE_FIELDS)
        _check_line(line)
        line.save()
    return line


def effect_line_delete(*, line: EffectLine, by) -> None:
    """Delete a line and its values (before DoI 3 there are no frozen or validated ones), each
    value audited as it goes."""
    with transaction.atomic():
        measure = _line_measure(line.measure, by)
        line = EffectLine.objects.select_for_update().get(pk=line.pk)
        for value in line.values.order_by("month", "series"):
            value_delete_audited(value, by)
        _audit_delete(
            line,
            by,
            measure.pk,
            {name: getattr(line, name) for name in LINE_FIELDS},
        )
        line.delete()


# --- Milestones ----------------------------------------------------------------------------------

MILESTONE_FIELDS = ["title", "due_date", "critical"]


def milestone_create(
    *, measure: Measure, by, title: str, due_date: date, critical: bool = False
) -> Milestone:
    with transaction.atomic():
        measure = _editable(measure, by)
        milestone = Milestone(measure=measure, title=title, due_date=due_date, critical=critical)
        _full_clean(milestone)
        milestone.save()
    return milestone


def milestone_update(*, milestone: Milestone, by, **values: Any) -> Milestone:
    with transaction.atomic():
        _editable(milestone.measure, by)
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        _set(milestone, values, MILESTONE_FIELDS)
        _full_clean(milestone)
        milestone.save()
    return milestone


def milestone_complete(
    *,
    milestone: Milestone,
    by,
    completed_at: date,
    evidence_note: str = "",
    evidence_document: Document | None = None,
) -> Milestone:
    """Complete a milestone; DESIGN §5.4 and the DoI 4 gate need evidence (a document or a note)."""
    check_text_lengths({"evidence_note": evidence_note or ""})
    if not (evidence_note or "").strip() and evidence_document is None:
        raise InvalidInput(
            "A completed milestone needs evidence: a note or a document.",
            details={"evidence_note": ["Describe the evidence or attach a document."]},
        )
    with transaction.atomic():
        measure = _editable(milestone.measure, by)
        if evidence_document is not None and evidence_document.measure_id != measure.pk:
            raise InvalidInput(
                "The evidence must be a document of the same measure.",
                details={"evidence_document": ["Choose a document of this measure."]},
            )
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        milestone.completed_at = completed_at
        milestone.evidence_note = (evidence_note or "").strip()
        milestone.evidence_document = evidence_document
        milestone.save()
    return milestone


def milestone_delete(*, milestone: Milestone, by) -> None:
    """From DoI 4 on, completed milestones are the evidence the gate was passed on: they stay."""
    with transaction.atomic():
        measure = _editable(milestone.measure, by)
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        if measure.doi >= 4 and milestone.completed_at is not None:
            raise Conflict(f"'{milestone.title}' is evidence of DoI 4 (Implemented) and cannot be deleted.")
        _audit_delete(
            milestone,
            by,
            measure.pk,
            {
                "title": milestone.title,
                "due_date": milestone.due_date,
                "completed_at": milestone.completed_at,
            },
        )
        milestone.delete()


# --- Risks ---------------------------------------------------------------------------------------

RISK_FIELDS = ["title", "probability", "impact", "mitigation", "owner", "status"]


def _check_risk(risk: Risk) -> None:
    errors = {
        name: ["Use a value from 1 to 5."]
        for name in ("probability", "impact")
        if not 1 <= int(getattr(risk, name) or 0) <= 5
    }
    if errors:
        raise InvalidInput("Probability and impact are rated from 1 to 5.", details=errors)
    _full_clean(risk)


def risk_create(*, measure: Measure, by, **values: Any) -> Risk:
    with transaction.atomic():
        measure = _editable(measure, by)
        risk = Risk(measure=measure)
        _set(risk, values, RISK_FIELDS)
        _check_risk(risk)
        risk.save()
    return risk


def risk_update(*, risk: Risk, by, **values: Any) -> Risk:
    with transaction.atomic():
        _editable(risk.measure, by)
        risk = Risk.objects.select_for_update().get(pk=risk.pk)
        _set(risk, values, RISK_FIELDS)
        _check_risk(risk)
        risk.save()
    return risk


def risk_delete(*, risk: Risk, by) -> None:
    with transaction.atomic():
        measure = _editable(risk.measure, by)
        _audit_delete(risk, by, measure.pk, {"title": risk.title, "status": risk.status})
        risk.delete()


# --- Dependencies and the overlap register --------------------------------------------------------


def dependency_create(
    *, source: Measure, target: Measure, kind: str, by, share_percent: Decimal | None = None, note: str = ""
) -> Dependency:
    """Link two measures. An overlap needs the share (0–100 %] of value that may be counted twice;
    the other measure must be visible to the person linking it."""
    if kind not in DependencyKind.values:
        raise InvalidInput(f"Unknown dependency kind '{kind}'.", details={"kind": ["Unknown kind."]})
    if source.pk == target.pk:
        raise InvalidInput(
            "A measure cannot depend on itself.", details={"target": ["Choose another measure."]}
        )
    if kind == DependencyKind.OVERLAPS and (share_percent is None or not 0 < Decimal(share_percent) <= 100):
        raise InvalidInput(
            "An overlap needs the share of value that overlaps, above 0 and at most 100 %.",
            details={"share_percent": ["Enter a share between 0 and 100."]},
        )
    if not permissions.can_see_measure(by, target):
        raise InvalidInput("No such measure to link to.", details={"target": ["No such measure."]})
    with transaction.atomic():
        source = _editable(source, by)
        try:
            with transaction.atomic():
                return Dependency.objects.create(
                    source=source,
                    target=target,
                    kind=kind,
                    share_percent=share_percent if kind == DependencyKind.OVERLAPS else None,
                    note=note,
                )
        except IntegrityError as exc:
            raise Conflict("These measures are already linked that way.") from exc


def dependency_delete(*, dependency: Dependency, by) -> None:
    with transaction.atomic():
        measure = _editable(dependency.source, by)
        _audit_delete(
            dependency,
            by,
            measure.pk,
            {
                "target": dependency.target_id,
                "kind": dependency.kind,
                "share_percent": dependency.share_percent,
            },
        )
        dependency.delete()


# --- Documents -----------------------------------------------------------------------------------

# extension -> (content type, what the content must look like)
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
    ".csv": "text/csv",
}


def sniff_type(head: bytes, data_file) -> str | None:
    """The file type its content proves (magic bytes; OOXML by its zip members); None if unknown."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        data_file.seek(0)
        try:
            with zipfile.ZipFile(data_file) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return None
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 3:
                return None
        return "text"
    return None


SNIFFED_EXTENSIONS = {
    "pdf": {".pdf"},
    "png": {".png"},
    "jpeg": {".jpg", ".jpeg"},
    "docx": {".docx"},
    "xlsx": {".xlsx"},
    "text": {".txt", ".csv"},
}


def safe_filename(name: str) -> str:
    base = PurePath(str(name).replace("\\", "/")).name
    cleaned = get_valid_filename(base).lstrip(".") if base else ""
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    stem = stem[:100] or "document"
    return f"{stem}.{ext.lower()}" if ext else stem


def document_upload(*, measure: Measure, by, uploaded_file, kind: str = DocumentKind.OTHER) -> Document:
    """Store a document (DESIGN §5.4): size limit from VALUEGATE_MAX_UPLOAD_BYTES, type proven by its
    content and matching its extension, file name sanitised, SHA-256 kept. Stored under a random
    name; it is served only through the measure's permission check."""
    limit = settings.VALUEGATE_MAX_UPLOAD_BYTES
    if kind not in DocumentKind.values:
        raise InvalidInput(f"Unknown document kind '{kind}'.", details={"kind": ["Unknown kind."]})
    if uploaded_file.size > limit:
        raise TooLarge(
            f"The file is {uploaded_file.size:,} bytes; the limit is {limit:,} bytes.",
            code="file_too_large",
            details={"file": [f"Files may be at most {limit:,} bytes."]},
        )
    filename = safe_filename(uploaded_file.name)
    extension = PurePath(filename).suffix.lower()
    uploaded_file.seek(0)
    content = uploaded_file.read()
    sniffed = sniff_type(content[:2048], io.BytesIO(content)) if content else None
    if extension not in ALLOWED_TYPES or sniffed is None or extension not in SNIFFED_EXTENSIONS[sniffed]:
        raise InvalidInput(
            "Only PDF, PNG, JPEG, Word (.docx), Excel (.xlsx), text and CSV files are accepted, and the "
            "content must match the file's extension.",
            code="file_type_not_allowed",
            details={"file": ["This file type is not accepted."]},
        )
    from django.core.files.base import ContentFile

    with transaction.atomic():
        measure = _editable(measure, by)
        document = Document(
            measure=measure,
            kind=kind,
            filename=filename,
            content_type=ALLOWED_TYPES[extension],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=by,
        )
        document.file.save(f"{uuid.uuid4().hex}{extension}", ContentFile(content), save=False)
        try:
            document.save()
        except Exception:
            document.file.delete(save=False)
            raise
    return document


def document_delete(*, document: Document, by) -> None:
    """Delete a document, unless it is the only evidence of a completed milestone (DoI 4 needs it)."""
    with transaction.atomic():
        _editable(document.measure, by)
        sole_evidence = Milestone.objects.filter(evidence_document=document, evidence_note="").first()
        if sole_evidence is not None:
            raise Conflict(f"This document is the only evidence of the milestone '{sole_evidence.title}'.")
        stored = document.file.name
        storage = document.file.storage
        _audit_delete(
            document,
            by,
            document.measure_id,
            {"filename": document.filename, "kind": document.kind, "sha256": document.sha256},
        )
        document.delete()
        transaction.on_commit(lambda: storage.delete(stored))


# --- Comments ------------------------------------------------------------------------------------


def comment_create(*, measure: Measure, by, body: str) -> Comment:
    """Anyone who sees a measure may comment on it, except leadership (read-only by role)."""
    if not (body or "").strip():
        raise InvalidInput("Write a comment first.", details={"body": ["The comment is empty."]})
    check_text_lengths({"body": body})
    with transaction.atomic():
        measure = measure_for_update(measure_id=measure.pk, by=by)
        if permissions.is_leadership(by) and not permissions.is_admin(by):
            raise PermissionRefused("Leadership reads measures but does not change them.")
        return Comment.objects.create(measure=measure, author=by, body=body.strip())
