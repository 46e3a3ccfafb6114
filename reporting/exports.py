"""CSV and XLSX exports (DESIGN §8): rows come from the apps' permission-filtered selectors;
every text cell is neutralised against formula injection before it is written."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from openpyxl import Workbook

from config.errors import InvalidInput
from incidents import selectors as incident_selectors
from measures import selectors as measure_selectors
from measures.models import Scope

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would evaluate gets a leading apostrophe; numbers and dates stay
    typed so they remain numbers in Excel."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal | date):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.localtime(value).replace(tzinfo=None)
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class Dataset:
    name: str
    headers: list[str]
    rows: Callable[[AbstractBaseUser, Scope | None], Iterable[list[object]]]


def _measure_rows(user: AbstractBaseUser, scope: Scope | None) -> Iterator[list[object]]:
    measures = measure_selectors.measure_list(user=user).select_related(
        "package", "owner", "sponsor", "controller"
    )
    if scope is not None:
        measures = measures.filter(package__path__startswith=scope.path)
    for m in measures.order_by("code").iterator(chunk_size=500):
        yield [
            m.code,
            m.title,
            m.package.name,
            m.get_stage_display(),
            m.doi,
            m.owner.username if m.owner else "",
            m.sponsor.username if m.sponsor else "",
            m.controller.username if m.controller else "",
            m.business_unit,
            getattr(m, "implementation_status", ""),
        ]


def _incident_rows(user: AbstractBaseUser, scope: Scope | None) -> Iterator[list[object]]:
    for i in incident_selectors.incident_list(user=user).iterator(chunk_size=500):
        yield [
            i.reference,
            i.title,
            f"SEV{i.severity}",
            i.get_state_display(),
            ", ".join(s.name for s in i.services.all()),
            i.users_affected,
            i.impact_started_at,
            i.detected_at,
            i.reported_at,
            i.declared_at,
            i.restored_at,
            i.closed_at,
        ]


def _effect_value_rows(user: AbstractBaseUser, scope: Scope | None) -> Iterator[list[object]]:
    from measures import permissions
    from measures.models import EffectValue

    measures = permissions.visible_measures(user)
    if scope is not None:
        measures = measures.filter(package__path__startswith=scope.path)
    values = (
        EffectValue.objects.filter(measure__in=measures)
        .select_related("measure", "line")
        .order_by("measure__code", "line_id", "series", "month")
    )
    for v in values.iterator(chunk_size=2000):
        yield [
            v.measure.code,
            v.line.account,
            v.line.get_recurrence_display(),
            v.line.get_nature_display(),
            v.month,
            v.series,
            v.amount,
            v.validation_state,
        ]


DATASETS: dict[str, Dataset] = {
    "measures": Dataset(
        "measures",
        [
            "Code",
            "Title",
            "Package",
            "Stage",
            "DoI",
            "Owner",
            "Sponsor",
            "Controller",
            "Business unit",
            "Implementation status",
        ],
        _measure_rows,
    ),
    "effect-values": Dataset(
        "effect-values",
        ["Measure", "Account", "Recurrence", "Nature", "Month", "Series", "Amount", "Validation"],
        _effect_value_rows,
    ),
    "incidents": Dataset(
        "incidents",
        [
            "Reference",
            "Title",
            "Severity",
            "State",
            "Services",
            "Users affected",
            "Impact started",
            "Detected",
            "Reported",
            "Declared",
            "Restored",
            "Closed",
        ],
        _incident_rows,
    ),
}


def dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise InvalidInput(f"Unknown export '{name}'. Choose one of: {', '.join(sorted(DATASETS))}.")
    return DATASETS[name]


def export_csv(data: Dataset, *, user: AbstractBaseUser, scope: Scope | None) -> Iterator[str]:
    """Streamed CSV, one line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(data.headers)
    yield flush()
    for row in data.rows(user, scope):
        writer.writerow([safe_cell(cell) for cell in row])
        yield flush()


def export_xlsx(data: Dataset, *, user: AbstractBaseUser, scope: Scope | None) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(data.name.capitalize())
    sheet.append(data.headers)
    for row in data.rows(user, scope):
        sheet.append([safe_cell(cell) for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
