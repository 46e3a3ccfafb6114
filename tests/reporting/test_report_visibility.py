"""Every document a reader receives shows only what they may open (DESIGN §4, §8): each PDF kind,
each export in CSV and XLSX, and the scheduled e-mails.

The reader is the program manager of Payments. Measures of the Cloud program are foreign to them,
yet linked from things they do see: PIR actions promoted to Cloud measures (one of them on a
repeat incident), and dependencies and an overlap between their measure and Cloud measures. Each
PDF is rendered for real (WeasyPrint) and read back with pypdf."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from incidents import services as incident_services
from incidents.choices import RoleKind
from measures import services as measure_services
from measures.choices import DependencyKind, Series
from reporting import exports, services
from reporting.models import ReportKind, RunStatus
from reviews import services as review_services
from reviews.models import Action, Review

CANNOT_OPEN = "a measure you cannot open"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _restored(cast, service, *, days_ago: int, title: str, capture):
    mim = cast["mim"]
    start = timezone.now() - timedelta(days=days_ago)
    incident = incident_services.incident_log(
        by=mim, title=title, services=[service], severity=2,
        impact_started_at=start, detected_at=start + timedelta(minutes=5),
        reported_at=start + timedelta(minutes=10),
    )  # fmt: skip
    incident_services.role_assign(
        incident=incident, by=mim, role=RoleKind.MIM, user=mim, at=start + timedelta(minutes=10)
    )
    incident = incident_services.incident_declare(incident=incident, by=mim, at=start + timedelta(minutes=20))
    with capture(execute=True):
        return incident_services.incident_restore(
            incident=incident, by=mim, at=start + timedelta(minutes=120)
        )


def _action(review, cast, title: str) -> Action:
    return review_services.action_create(
        review=review, by=cast["mim"], title=title, owner=cast["ops"],
        due_date=timezone.localdate() - timedelta(days=3), description="",
    )  # fmt: skip


def _planned(measure, by, amount: int) -> None:
    line = measure_services.effect_line_create(
        measure=measure, by=by, account="pl_cost", annual_potential=amount
    )
    month = timezone.localdate().replace(day=1)
    measure_services.effect_value_set(line=line, month=month, series=Series.PLAN, amount=amount / 12, by=by)


@pytest.fixture
def world(cast, tree, admin_user, make_user, django_capture_on_commit_callbacks):
    """The reader's own measures and the foreign ones, linked every way the product links them."""
    from measures.choices import ScopeRole

    # Owns the PIR actions; may own measures in both programs, so actions promote into either.
    cast["ops"] = make_user(
        "ops", roles=[(tree.program, ScopeRole.CONTRIBUTOR), (tree.other_program, ScopeRole.CONTRIBUTOR)]
    )
    create = measure_services.measure_create
    own = create(by=cast["pm"], title="Drill the gateway failover", objective="Faster restore.",
                 package=tree.package, owner=cast["owner"])  # fmt: skip
    own_sibling = create(by=cast["pm"], title="Add headroom to card capacity", objective="Fewer peaks.",
                         package=tree.sibling_package)  # fmt: skip
    _planned(own, cast["owner"], 5000)
    far_blocker = create(by=cast["outsider"], title="Migrate ledger to cloud zone", objective="Hidden.",
                         package=tree.other_package)  # fmt: skip
    far_overlap = create(by=cast["outsider"], title="Consolidate cloud accounts", objective="Hidden.",
                         package=tree.other_package)  # fmt: skip
    _planned(far_blocker, cast["outsider"], 7000)
    measure_services.dependency_create(
        source=own, target=far_blocker, kind=DependencyKind.BLOCKS, by=admin_user
    )
    measure_services.dependency_create(
        source=far_overlap,
        target=own,
        kind=DependencyKind.OVERLAPS,
        share_percent=Decimal("25"),
        by=admin_user,
    )
    measure_services.dependency_create(
        source=own, target=own_sibling, kind=DependencyKind.RELATES, by=admin_user
    )

    payments = incident_services.service_save(
        by=cast["mim"], name="Card gateway", tier=1, owner=cast["owner"], cost_per_minute=Decimal("100.00")
    )
    first = _restored(
        cast, payments, days_ago=60, title="Card gateway down", capture=django_capture_on_commit_callbacks
    )
    first_review = Review.objects.get(incident=first)
    promote = review_services.action_promote
    to_own = promote(action=_action(first_review, cast, "Automate failover"), by=admin_user,
                     package=tree.package, title="Automated gateway failover")  # fmt: skip
    to_far = promote(action=_action(first_review, cast, "Rebalance ledger nodes"), by=admin_user,
                     package=tree.other_package, title="Ledger node rebalancing in cloud")  # fmt: skip
    verified = _action(first_review, cast, "Raise gateway timeouts")
    review_services.action_complete(action=review_services.action_accept(action=verified, by=cast["ops"]),
                                    by=cast["ops"])  # fmt: skip
    review_services.action_verify(action=verified, by=cast["mim"])
    Action.objects.filter(pk=verified.pk).update(verified_at=timezone.now() - timedelta(days=50))

    repeat = _restored(cast, payments, days_ago=20, title="Card gateway down again",
                       capture=django_capture_on_commit_callbacks)  # fmt: skip
    repeat_review = Review.objects.get(incident=repeat)
    on_repeat = promote(action=_action(repeat_review, cast, "Replace gateway vendor"), by=admin_user,
                        package=tree.other_package, title="Gateway vendor replacement in cloud")  # fmt: skip
    assert Action.objects.get(pk=verified.pk).ineffective_incident == repeat

    foreign = [far_blocker, far_overlap, to_far.measure, on_repeat.measure]
    return {
        "own": own,
        "own_sibling": own_sibling,
        "promoted_own": to_own.measure,
        "foreign": foreign,
        "first_review": first_review,
        "repeat_review": repeat_review,
        "incidents": [first, repeat],
    }


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # Long lines wrap in the PDF: compare with whitespace collapsed.
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _render(kind: str, parameters: dict, reader) -> str:
    run = services.report_run_request(kind=kind, parameters=parameters, by=reader)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    with run.file.open("rb") as handle:
        return _pdf_text(handle.read())


def _assert_hides_foreign(text: str, world) -> None:
    for measure in world["foreign"]:
        assert measure.code not in text, f"{measure.code} ({measure.title}) leaked"
        assert measure.title not in text, f"'{measure.title}' leaked"


def test_every_report_kind_shows_the_reader_only_measures_they_may_open(cast, tree, world):
    reader = cast["pm"]
    own, promoted_own = world["own"], world["promoted_own"]
    documents = {
        "steering pack": _render(ReportKind.STEERING_PACK, {"scope": tree.program.pk}, reader),
        "one-pager": _render(ReportKind.MEASURE_ONE_PAGER, {"measure": own.pk}, reader),
        **{
            f"PIR {review.incident.reference}": _render(ReportKind.PIR_REPORT, {"review": review.pk}, reader)
            for review in (world["first_review"], world["repeat_review"])
        },
        **{
            f"incident {incident.reference}": _render(
                ReportKind.INCIDENT_REPORT, {"incident": incident.pk}, reader
            )
            for incident in world["incidents"]
        },
    }
    assert set(ReportKind.values) == {ReportKind.STEERING_PACK, ReportKind.MEASURE_ONE_PAGER,
                                      ReportKind.PIR_REPORT, ReportKind.INCIDENT_REPORT}  # fmt: skip
    for name, text in documents.items():
        try:
            _assert_hides_foreign(text, world)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None

    steering = documents["steering pack"]
    assert own.code in steering and promoted_own.code in steering and world["own_sibling"].code in steering
    assert "Raise gateway timeouts" in steering  # the ineffective action, repeated by a visible incident

    first_pir = documents[f"PIR {world['first_review'].incident.reference}"]
    assert promoted_own.code in first_pir
    assert f"promoted to {CANNOT_OPEN}" in first_pir
    assert "Rebalance ledger nodes" in first_pir  # the action itself is the PIR's, readable by all
    assert f"promoted to {CANNOT_OPEN}" in documents[f"PIR {world['repeat_review'].incident.reference}"]

    one_pager = documents["one-pager"]
    assert own.code in one_pager and own.title in one_pager
    assert world["own_sibling"].code in one_pager  # a dependency the reader may open
    assert one_pager.count(CANNOT_OPEN) == 2  # the blocker and the overlapping measure
    assert "25 % overlap" in one_pager


def test_an_admin_sees_the_foreign_measures_in_the_same_documents(admin_user, world):
    text = _render(ReportKind.PIR_REPORT, {"review": world["first_review"].pk}, admin_user)
    assert world["foreign"][2].code in text and CANNOT_OPEN not in text


@pytest.mark.parametrize("name", sorted(exports.DATASETS))
def test_every_export_in_both_formats_holds_only_what_the_reader_may_open(cast, world, name):
    reader = cast["pm"]
    data = exports.dataset(name)
    as_csv = "".join(exports.export_csv(data, user=reader, scope=None))
    workbook = load_workbook(io.BytesIO(exports.export_xlsx(data, user=reader, scope=None)), read_only=True)
    as_xlsx = "\n".join(
        ",".join("" if cell is None else str(cell) for cell in row)
        for row in workbook.active.iter_rows(values_only=True)
    )
    for text in (as_csv, as_xlsx):
        _assert_hides_foreign(text, world)
    if name in ("measures", "effect-values"):
        rows = list(csv.reader(io.StringIO(as_csv)))
        assert world["own"].code in {row[0] for row in rows[1:]}
        assert world["own"].code in as_xlsx
    else:
        assert all(incident.reference in as_csv for incident in world["incidents"])


def test_a_scheduled_steering_pack_mails_each_recipient_what_they_may_see(cast, tree, world, make_user):
    from measures.choices import ScopeRole

    package_viewer = make_user("package-viewer", roles=[(tree.package, ScopeRole.VIEWER)])
    schedule = services.report_schedule_create(
        name="Gateway weekly", kind=ReportKind.STEERING_PACK, scope=tree.package, frequency="weekly",
        time=timezone.now().time(), recipients=[cast["pm"], package_viewer], by=cast["pm"],
    )  # fmt: skip
    runs = services.report_schedule_deliver(schedule_id=schedule.pk)
    assert [run.status for run in runs] == [RunStatus.DONE, RunStatus.DONE]
    received = {message.to[0]: message for message in mail.outbox}
    assert sorted(received) == ["package-viewer@example.test", "pm@example.test"]
    for message in received.values():
        _name, content, mime = message.attachments[0]
        assert mime == "application/pdf"
        text = _pdf_text(content)
        _assert_hides_foreign(text, world)
        assert world["own"].code in text and "Failover" in text
        assert world["own_sibling"].code not in text  # another package than the schedule's scope
    assert {run.requested_by for run in runs} == {cast["pm"], package_viewer}
