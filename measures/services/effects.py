"""Monthly effect values, the plan freeze, re-baselines and the validation of actuals (DESIGN §5.2).

Editing rules by stage (a refused edit is a 409 with the reason):
- target: set by a program manager of the scope (or an admin) until the measure closes;
- plan: editable up to DoI 2; frozen as plan version 1 when DoI 3 is approved; afterwards only a
  re-baseline request approved by a controller changes it (version n+1);
- forecast: editable from DoI 3 (it starts equal to the frozen plan) until the measure closes;
- actual: entered from DoI 3 on, also after closure (leakage, §5.3), as a draft; the owner submits,
  a controller of the scope who is not the owner (and did not enter it) validates or rejects.
Cancelled measures are read-only. The freeze, each re-baseline and each validation are audited.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from config.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from config.errors import SeparationOfDutiesViolation as FourEyes
from config.limits import check_text_lengths
from measures import permissions
from measures.choices import RebaselineState, Series, Stage, ValidationState
from measures.models import (
    EffectLine,
    EffectValue,
    Measure,
    PlanVersion,
    PlanVersionValue,
    RebaselineRequest,
)
from measures.selectors.figures import effect_horizon
from measures.services.audit import audit_append
from measures.services.measures import measure_for_update

MAX_AMOUNT = Decimal("99999999999999.99")
LOCKED_ACTUAL_STATES = (ValidationState.SUBMITTED, ValidationState.VALIDATED)


# --- Parsing ---------------------------------------------------------------------------------


def parse_month(value: Any) -> date:
    """'2026-04', '2026-04-01' or a date → the first day of that month, which must lie inside the
    fiscal horizon (`effect_horizon`): month 0001-01 or 9999-12 would make any run rate meet plan."""
    if isinstance(value, date):
        month = value.replace(day=1)
    else:
        text = str(value or "").strip()
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})(?:-01)?", text)
        try:
            if match is None:
                raise ValueError
            month = date(int(match[1]), int(match[2]), 1)
        except ValueError as exc:
            raise InvalidInput(
                f"'{text[:40]}' is not a month.", details={"month": ["Use YYYY-MM or YYYY-MM-01."]}
            ) from exc
    horizon = effect_horizon()
    if not horizon.start <= month <= horizon.end:
        raise InvalidInput(
            f"{month:%Y-%m} lies outside the fiscal horizon {horizon.start:%Y-%m} to {horizon.end:%Y-%m}.",
            details={"month": [f"Choose a month from {horizon.start:%Y-%m} to {horizon.end:%Y-%m}."]},
        )
    return month


# ASCII digits only, an optional sign, optional thousands commas and up to two decimals: Python's
# Decimal also reads "١٢٣" and "1_000", which no person means as an amount.
AMOUNT_TEXT = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?", re.ASCII)


def parse_amount(value: Any) -> Decimal:
    """A finite amount in the deployment currency, at most MAX_AMOUNT, rounded to cents."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str | float) and AMOUNT_TEXT.fullmatch(str(value).strip()):
        text = str(value).strip().replace(",", "")
    else:
        raise InvalidInput(
            f"'{str(value)[:40]}' is not an amount.",
            details={"amount": ["Enter a number with digits 0-9, e.g. 1250.50."]},
        )
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(
            f"'{text[:40]}' is not an amount.", details={"amount": ["Enter a number."]}
        ) from exc
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise InvalidInput(f"'{text[:40]}' is out of range.", details={"amount": ["Enter a smaller amount."]})
    return amount.quantize(Decimal("0.01"))


def _series(value: str) -> str:
    if value not in Series.values:
        raise InvalidInput(
            f"Unknown series '{value}'.", details={"series": [f"Choose one of: {', '.join(Series.values)}."]}
        )
    return value


# --- Stage rules ---------------------------------------------------------------------------------


def frozen_version(measure: Measure) -> int | None:
    """The number of the measure's current plan version, or None before the freeze."""
    return measure.plan_versions.aggregate(n=Max("number"))["n"]


def edit_refusal(measure: Measure, series: str) -> str | None:
    """Why the measure's stage forbids editing `series` now, or None when it may be edited."""
    if measure.stage == Stage.CANCELLED:
        return "A cancelled measure's values cannot change."
    closed = measure.stage == Stage.CLOSED
    doi = measure.doi
    if series == Series.TARGET:
        return "A closed measure's target is final." if closed else None
    if series == Series.PLAN:
        if doi >= 3:
            return (
                "The plan is frozen since DoI 3 (Decided); ask a controller for a re-baseline to change it."
            )
        return None
    if series == Series.FORECAST:
        if doi < 3:
            return "The forecast starts when the plan is frozen at DoI 3; until then edit the plan."
        return "A closed measure's forecast is final; enter actuals instead." if closed else None
    if doi < 3:
        return "Actuals are entered from DoI 3 (Decided) on."
    return None


def _check_may_write(measure: Measure, series: str, by) -> None:
    if series == Series.TARGET:
        if not permissions.can_set_targets(by, measure):
            raise PermissionRefused("Only a program manager of the scope sets targets.")
    elif not permissions.can_edit_measure(by, measure):
        raise PermissionRefused(
            "Only the measure's owner or a program manager of its scope may enter values."
        )
    refusal = edit_refusal(measure, series)
    if refusal:
        raise Conflict(refusal)


def _lock(measure_id: int, by) -> Measure:
    return measure_for_update(measure_id=measure_id, by=by)


def _line_of(measure: Measure, line_id: Any) -> EffectLine:
    line = EffectLine.objects.filter(pk=getattr(line_id, "pk", line_id), measure=measure).first()
    if line is None:
        raise InvalidInput(
            "Unknown effect line.", details={"line": ["Choose an effect line of this measure."]}
        )
    return line


def _write_cell(
    *, measure: Measure, line_id: int, month: date, series: str, amount: Decimal | None, by
) -> EffectValue | None:
    """Create, change or (amount None) remove one cell; the caller locked the measure and checked
    the stage rule. Submitted and validated actuals cannot change; a rejected one returns to draft."""
    value = (
        EffectValue.objects.select_for_update().filter(line_id=line_id, month=month, series=series).first()
    )
    if value is not None and series == Series.ACTUAL and value.validation_state in LOCKED_ACTUAL_STATES:
        raise Conflict(
            f"The actual of {month:%Y-%m} is {value.get_validation_state_display().lower()} and cannot change."
        )
    if amount is None:
        if value is not None:
            value_delete_audited(value, by)
        return None
    if value is None:
        value = EffectValue(measure=measure, line_id=line_id, month=month, series=series)
    elif value.amount == amount and value.validation_state != ValidationState.REJECTED:
        return value
    value.amount = amount
    value.entered_by = by
    if series == Series.ACTUAL:
        value.validation_state = ValidationState.DRAFT
        value.validated_by = None
        value.validated_at = None
        value.submitted_at = None
    value.save()
    return value


def value_delete_audited(value: EffectValue, by) -> None:
    """Remove one cell and write its audit row in the same transaction (ADR 0016: nothing of a
    measure disappears without a trace). Validated actuals never get here (`_write_cell` refuses,
    and a database trigger refuses their DELETE)."""
    audit_append(
        actor=by,
        action="effect_value_deleted",
        subject=value,
        measure_id=value.measure_id,
        before={
            "line": value.line_id,
            "month": value.month,
            "series": value.series,
            "amount": value.amount,
            "validation_state": value.validation_state,
        },
    )
    value.delete()


def effect_value_set(*, line: EffectLine, month: Any, series: str, amount: Any, by) -> EffectValue:
    """Enter one monthly value (create or change the cell), under the stage rules above."""
    series, month, amount = _series(series), parse_month(month), parse_amount(amount)
    with transaction.atomic():
        measure = _lock(line.measure_id, by)
        _check_may_write(measure, series, by)
        return _write_cell(measure=measure, line_id=line.pk, month=month, series=series, amount=amount, by=by)


def effect_value_update(*, value: EffectValue, amount: Any, by) -> EffectValue:
    amount = parse_amount(amount)
    with transaction.atomic():
        measure = _lock(value.measure_id, by)
        _check_may_write(measure, value.series, by)
        return _write_cell(
            measure=measure,
            line_id=value.line_id,
            month=value.month,
            series=value.series,
            amount=amount,
            by=by,
        )


def effect_value_delete(*, value: EffectValue, by) -> None:
    with transaction.atomic():
        measure = _lock(value.measure_id, by)
        _check_may_write(measure, value.series, by)
        _write_cell(
            measure=measure, line_id=value.line_id, month=value.month, series=value.series, amount=None, by=by
        )


def effect_values_save(*, measure: Measure, by, series: str, cells: Iterable[tuple[Any, Any, Any]]) -> int:
    """Save a grid of one series in one transaction: `cells` are (line id, month, amount) where an
    empty amount removes the cell. Everything is saved or, on the first refusal, nothing."""
    series = _series(series)
    with transaction.atomic():
        measure = _lock(measure.pk, by)
        _check_may_write(measure, series, by)
        line_ids = set(measure.effect_lines.values_list("pk", flat=True))
        changed = 0
        for line_id, month, amount in cells:
            if int(line_id) not in line_ids:
                raise InvalidInput(
                    "Unknown effect line.", details={"line": [f"{line_id} is not a line of {measure.code}."]}
                )
            empty = amount is None or str(amount).strip() == ""
            _write_cell(
                measure=measure,
                line_id=int(line_id),
                month=parse_month(month),
                series=series,
                amount=None if empty else parse_amount(amount),
                by=by,
            )
            changed += 1
    return changed


# --- CSV import ----------------------------------------------------------------------------------

CSV_COLUMNS = ["line", "month", "series", "amount"]


@dataclass
class ImportRow:
    number: int
    line: int | None = None
    account: str = ""
    month: date | None = None
    series: str = ""
    amount: Decimal | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    rows: list[ImportRow]
    dry_run: bool
    saved: int = 0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"row": row.number, "errors": row.errors} for row in self.rows if row.errors]

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_rows(measure: Measure, text: str, by) -> list[ImportRow]:
    try:
        return _parse_rows(measure, text, by)
    except csv.Error as exc:
        raise InvalidInput(f"The file is not a readable CSV: {exc}.", details={"file": [str(exc)]}) from exc


def _parse_rows(measure: Measure, text: str, by) -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in CSV_COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"The file needs the columns {', '.join(CSV_COLUMNS)}.",
            details={"file": [f"Missing column(s): {', '.join(missing)}."]},
        )
    lines = {line.pk: line for line in measure.effect_lines.all()}
    rows: list[ImportRow] = []
    seen: dict[tuple, int] = {}
    for number, record in enumerate(reader, start=2):  # row 1 is the header
        if number - 1 > settings.VALUEGATE_EFFECT_IMPORT_MAX_ROWS:
            raise InvalidInput(
                f"The file has more than {settings.VALUEGATE_EFFECT_IMPORT_MAX_ROWS} rows; split it.",
                details={"file": ["Too many rows."]},
            )
        row = ImportRow(number=number)
        try:
            row.line = int(str(record.get("line") or "").strip())
            if row.line not in lines:
                raise ValueError
            row.account = lines[row.line].account_label
        except ValueError:
            row.errors.append(f"line '{record.get('line')}' is not an effect line of {measure.code}")
        for name, parse in (("month", parse_month), ("series", _series), ("amount", parse_amount)):
            try:
                setattr(row, name, parse(record.get(name) or ""))
            except InvalidInput as exc:
                row.errors.append(exc.message)
        if row.series and not row.errors:
            refusal = edit_refusal(measure, row.series)
            if refusal:
                row.errors.append(refusal)
            elif row.series == Series.TARGET and not permissions.can_set_targets(by, measure):
                row.errors.append("Only a program manager of the scope sets targets.")
        key = (row.line, row.month, row.series)
        if not row.errors:
            if key in seen:
                row.errors.append(f"the same line, month and series as row {seen[key]}")
            seen[key] = number
        rows.append(row)
    if not rows:
        raise InvalidInput("The file has no rows.", details={"file": ["Add at least one row."]})
    _flag_locked_actuals(rows)
    return rows


def _flag_locked_actuals(rows: list[ImportRow]) -> None:
    actual_rows = [row for row in rows if row.series == Series.ACTUAL and not row.errors]
    if not actual_rows:
        return
    locked = set(
        EffectValue.objects.filter(
            line_id__in={row.line for row in actual_rows},
            series=Series.ACTUAL,
            validation_state__in=LOCKED_ACTUAL_STATES,
        ).values_list("line_id", "month")
    )
    for row in actual_rows:
        if (row.line, row.month) in locked:
            row.errors.append(f"the actual of {row.month:%Y-%m} is submitted or validated and cannot change")


def effect_values_import(*, measure: Measure, by, text: str, dry_run: bool = True) -> ImportResult:
    """Import values of one measure from CSV (columns line, month, series, amount). A dry run only
    checks and previews; a real run saves every row or, if any row has an error, none (400 with the
    row-level errors)."""
    if not permissions.can_edit_measure(by, measure):
        raise PermissionRefused(
            "Only the measure's owner or a program manager of its scope may import values."
        )
    with transaction.atomic():
        measure = _lock(measure.pk, by)
        result = ImportResult(rows=_read_rows(measure, text, by), dry_run=dry_run)
        if dry_run:
            return result
        if not result.ok:
            raise InvalidInput(
                f"{len(result.errors)} row(s) have errors; nothing was imported.",
                details={"rows": result.errors},
            )
        for row in result.rows:
            _write_cell(
                measure=measure,
                line_id=row.line,
                month=row.month,
                series=row.series,
                amount=row.amount,
                by=by,
            )
        result.saved = len(result.rows)
        audit_append(
            actor=by,
            action="effect_values_imported",
            subject=measure,
            measure_id=measure.pk,
            after={"rows": result.saved},
        )
    return result


# --- Actuals: submit, validate, reject -------------------------------------------------------------


def actuals_submit(*, measure: Measure, by) -> int:
    """The owner (or a program manager) submits every draft actual of the measure for validation."""
    with transaction.atomic():
        measure = _lock(measure.pk, by)
        if not permissions.can_edit_measure(by, measure):
            raise PermissionRefused(
                "Only the measure's owner or a program manager of its scope may submit actuals."
            )
        drafts = EffectValue.objects.filter(
            measure=measure, series=Series.ACTUAL, validation_state=ValidationState.DRAFT
        )
        months = sorted({f"{month:%Y-%m}" for month in drafts.values_list("month", flat=True)})
        count = drafts.update(validation_state=ValidationState.SUBMITTED, submitted_at=timezone.now())
        if count:
            audit_append(
                actor=by,
                action="actuals_submitted",
                subject=measure,
                measure_id=measure.pk,
                after={"count": count, "months": months},
            )
    return count


def _check_validator(value: EffectValue, measure: Measure, by) -> None:
    if measure.owner_id == by.pk:
        raise FourEyes("The measure's owner may not validate its actuals.")
    if value.entered_by_id == by.pk:
        raise FourEyes("You entered this actual; another controller must validate it.")
    if not permissions.can_validate_actuals(by, measure):
        raise PermissionRefused("Only a controller of the measure's scope may validate actuals.")


def _decide_actual(*, value: EffectValue, by, state: str, comment: str) -> EffectValue:
    with transaction.atomic():
        measure = _lock(value.measure_id, by)
        value = EffectValue.objects.select_for_update().filter(pk=value.pk).first()
        if value is None:
            raise NotFound("No such effect value.")
        if value.series != Series.ACTUAL:
            raise Conflict("Only actuals are validated.")
        _check_validator(value, measure, by)
        if value.validation_state != ValidationState.SUBMITTED:
            raise Conflict(
                f"This actual is {value.get_validation_state_display().lower()}; only submitted actuals "
                "can be validated or rejected."
            )
        before = value.validation_state
        value.validation_state = state
        value.validated_by = by
        value.validated_at = timezone.now()
        value.validation_comment = comment
        value.save()
        audit_append(
            actor=by,
            action="actual_validated" if state == ValidationState.VALIDATED else "actual_rejected",
            subject=value,
            measure_id=measure.pk,
            before={"validation_state": before},
            after={
                "validation_state": state,
                "line": value.line_id,
                "month": value.month,
                "amount": value.amount,
            },
            comment=comment,
        )
    return value


def actual_validate(*, value: EffectValue, by, comment: str = "") -> EffectValue:
    """A controller of the scope validates a submitted actual (DESIGN §5.1 four-eyes: never the
    measure's owner nor whoever entered it). Only validated actuals count as actual in figures."""
    check_text_lengths({"comment": comment or ""})
    return _decide_actual(
        value=value, by=by, state=ValidationState.VALIDATED, comment=(comment or "").strip()
    )


def actual_reject(*, value: EffectValue, by, comment: str) -> EffectValue:
    """Reject a submitted actual with a comment; the owner corrects it (back to draft) and resubmits."""
    if not (comment or "").strip():
        raise InvalidInput("Say why the actual is rejected.", details={"comment": ["A comment is required."]})
    check_text_lengths({"comment": comment})
    return _decide_actual(value=value, by=by, state=ValidationState.REJECTED, comment=comment.strip())


# --- Plan freeze and re-baselines ----------------------------------------------------------------------


def _snapshot_plan(measure: Measure, number: int, by, reason: str) -> PlanVersion:
    version = PlanVersion.objects.create(measure=measure, number=number, created_by=by, reason=reason)
    PlanVersionValue.objects.bulk_create(
        PlanVersionValue(version=version, line_id=line_id, month=month, amount=amount)
        for line_id, month, amount in EffectValue.objects.filter(measure=measure, series=Series.PLAN)
        .order_by("line_id", "month")
        .values_list("line_id", "month", "amount")
    )
    return version


def _plan_total(measure: Measure) -> Decimal:
    total = EffectValue.objects.filter(measure=measure, series=Series.PLAN).aggregate(t=Sum("amount"))["t"]
    return total or Decimal("0")


def plan_freeze(*, measure: Measure, by) -> PlanVersion:
    """DESIGN §5.1/§5.2: on approval of DoI 3 the plan is frozen as baseline version 1 and the
    forecast starts equal to it. Called by the gate service inside its transaction (measure locked)."""
    existing = measure.plan_versions.order_by("-number").first()
    if existing is not None:
        return existing
    version = _snapshot_plan(measure, 1, by, "Baseline frozen at DoI 3 approval.")
    have_forecast = set(
        EffectValue.objects.filter(measure=measure, series=Series.FORECAST).values_list("line_id", "month")
    )
    EffectValue.objects.bulk_create(
        EffectValue(
            measure=measure,
            line_id=line_id,
            month=month,
            series=Series.FORECAST,
            amount=amount,
            entered_by=by,
        )
        for line_id, month, amount in EffectValue.objects.filter(
            measure=measure, series=Series.PLAN
        ).values_list("line_id", "month", "amount")
        if (line_id, month) not in have_forecast
    )
    audit_append(
        actor=by,
        action="plan_frozen",
        subject=version,
        measure_id=measure.pk,
        after={"version": 1, "cells": version.values.count(), "plan_total": _plan_total(measure)},
    )
    return version


def _proposed_values(measure: Measure, values: Any) -> list[dict[str, Any]]:
    if not isinstance(values, list) or not values:
        raise InvalidInput(
            "Propose at least one plan value.", details={"values": ["A list of {line, month, amount}."]}
        )
    line_ids = set(measure.effect_lines.values_list("pk", flat=True))
    cleaned: dict[tuple[int, date], Decimal | None] = {}
    for item in values:
        if not isinstance(item, dict):
            raise InvalidInput(
                "Each value is {line, month, amount}.", details={"values": ["Malformed value."]}
            )
        try:
            line_id = int(item.get("line"))
        except (TypeError, ValueError):
            line_id = None
        if line_id not in line_ids:
            raise InvalidInput(
                "Unknown effect line.",
                details={"values": [f"{item.get('line')} is not a line of {measure.code}."]},
            )
        amount = item.get("amount")
        empty = amount is None or str(amount).strip() == ""
        cleaned[(line_id, parse_month(item.get("month")))] = None if empty else parse_amount(amount)
    return [
        {"line": line_id, "month": month.isoformat(), "amount": None if amount is None else str(amount)}
        for (line_id, month), amount in sorted(cleaned.items())
    ]


def rebaseline_request_submit(*, measure: Measure, by, reason: str, values: Any) -> RebaselineRequest:
    """After the freeze, ask to change the plan (DESIGN §5.2): the proposed cells and a reason."""
    if not (reason or "").strip():
        raise InvalidInput("Say why the plan must change.", details={"reason": ["A reason is required."]})
    check_text_lengths({"reason": reason})
    with transaction.atomic():
        measure = _lock(measure.pk, by)
        if not permissions.can_edit_measure(by, measure):
            raise PermissionRefused(
                "Only the measure's owner or a program manager of its scope may ask for a re-baseline."
            )
        if measure.stage in (Stage.CLOSED, Stage.CANCELLED):
            raise Conflict(f"A {measure.get_stage_display().lower()} measure's plan cannot change.")
        if frozen_version(measure) is None:
            raise Conflict("The plan is not frozen yet (DoI < 3): edit it directly.")
        if measure.rebaseline_requests.filter(state=RebaselineState.PENDING).exists():
            raise Conflict("A re-baseline request for this measure is already pending.")
        request = RebaselineRequest.objects.create(
            measure=measure,
            reason=reason.strip(),
            values=_proposed_values(measure, values),
            requested_by=by,
            owner_id=measure.owner_id,
        )
        audit_append(
            actor=by,
            action="rebaseline_requested",
            subject=request,
            measure_id=measure.pk,
            after={"cells": len(request.values)},
            comment=request.reason,
        )
    return request


def _lock_rebaseline(request_id: int, by) -> tuple[RebaselineRequest, Measure]:
    """Lock the measure, then the request (the one lock order, see `measure_for_update`)."""
    measure_id = RebaselineRequest.objects.filter(pk=request_id).values_list("measure_id", flat=True).first()
    if measure_id is None:
        raise NotFound("No such re-baseline request.")
    measure = _lock(measure_id, by)
    request = RebaselineRequest.objects.select_for_update().get(pk=request_id)
    if request.state != RebaselineState.PENDING:
        raise Conflict(f"This re-baseline request is already {request.get_state_display().lower()}.")
    if request.requested_by_id == by.pk:
        raise FourEyes("You asked for this re-baseline; a controller must decide on it.")
    if by.pk in (request.owner_id, measure.owner_id):
        raise FourEyes(
            "The measure's owner (now or when the request was made) may not decide its re-baseline."
        )
    if not permissions.can_validate_actuals(by, measure):
        raise PermissionRefused("Only a controller of the measure's scope decides on a re-baseline.")
    return request, measure


def rebaseline_request_approve(*, request: RebaselineRequest, by, comment: str = "") -> RebaselineRequest:
    """A controller approves: the proposed cells replace the plan and a new plan version n+1 is
    stored; every earlier version stays readable (DESIGN §5.2)."""
    check_text_lengths({"comment": comment or ""})
    with transaction.atomic():
        request, measure = _lock_rebaseline(request.pk, by)
        if measure.stage in (Stage.CLOSED, Stage.CANCELLED):
            raise Conflict(f"A {measure.get_stage_display().lower()} measure's plan cannot change.")
        before_total = _plan_total(measure)
        for cell in request.values:
            amount = None if cell["amount"] is None else Decimal(cell["amount"])
            _write_cell(
                measure=measure,
                line_id=cell["line"],
                month=date.fromisoformat(cell["month"]),
                series=Series.PLAN,
                amount=amount,
                by=by,
            )
        number = (frozen_version(measure) or 0) + 1
        version = _snapshot_plan(measure, number, by, request.reason)
        request.state = RebaselineState.APPROVED
        request.decided_by = by
        request.decided_at = timezone.now()
        request.decision_comment = (comment or "").strip()
        request.version = version
        request.save()
        audit_append(
            actor=by,
            action="rebaseline_approved",
            subject=request,
            measure_id=measure.pk,
            before={"version": number - 1, "plan_total": before_total},
            after={"version": number, "plan_total": _plan_total(measure)},
            comment=request.decision_comment,
        )
    return request


def rebaseline_request_reject(*, request: RebaselineRequest, by, comment: str) -> RebaselineRequest:
    if not (comment or "").strip():
        raise InvalidInput(
            "Say why the re-baseline is rejected.", details={"comment": ["A comment is required."]}
        )
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        request, measure = _lock_rebaseline(request.pk, by)
        request.state = RebaselineState.REJECTED
        request.decided_by = by
        request.decided_at = timezone.now()
        request.decision_comment = comment.strip()
        request.save()
        audit_append(
            actor=by,
            action="rebaseline_rejected",
            subject=request,
            measure_id=measure.pk,
            comment=request.decision_comment,
        )
    return request


# --- Closure -------------------------------------------------------------------------------------------


def closure_shortfall_record(*, measure: Measure, by, reason: str) -> Measure:
    """DESIGN §5.1 DoI 5: a measure may close below its planned run rate when the controller records
    why. Only a controller of the scope (not the owner) may; the reason is audited."""
    if not (reason or "").strip():
        raise InvalidInput("Say why the measure closes lower.", details={"reason": ["A reason is required."]})
    check_text_lengths({"reason": reason})
    with transaction.atomic():
        measure = _lock(measure.pk, by)
        if measure.owner_id == by.pk:
            raise FourEyes("The measure's owner may not record the closing shortfall.")
        if not permissions.can_validate_actuals(by, measure):
            raise PermissionRefused("Only a controller of the measure's scope records a closing shortfall.")
        if measure.stage != Stage.IMPLEMENTED:
            raise Conflict("A closing shortfall is recorded at DoI 4, before closure.")
        before = measure.closure_shortfall_reason
        measure.closure_shortfall_reason = reason.strip()
        measure.version += 1
        measure.save(update_fields=["closure_shortfall_reason", "version", "updated_at"])
        audit_append(
            actor=by,
            action="closure_shortfall_recorded",
            subject=measure,
            measure_id=measure.pk,
            before={"reason": before},
            after={"reason": measure.closure_shortfall_reason},
            comment=measure.closure_shortfall_reason,
        )
    return measure


def closure_record(*, measure: Measure, by) -> None:
    """On approval of DoI 5 the validated run rate is kept as the closing run rate, against which
    later actuals are checked for leakage (DESIGN §5.3). Called inside the gate transaction."""
    from measures.selectors.figures import measure_figures

    figures = measure_figures(measure=measure)
    measure.closed_run_rate = figures.validated_run_rate
    measure.save(update_fields=["closed_run_rate", "updated_at"])
    audit_append(
        actor=by,
        action="closing_run_rate",
        subject=measure,
        measure_id=measure.pk,
        after={"closed_run_rate": measure.closed_run_rate, "planned_run_rate": figures.planned_run_rate},
    )
