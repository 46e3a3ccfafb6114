"""Creating, editing and pausing measures (DESIGN §4, §5.1). Gates live in `gates.py`."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from config.errors import Conflict, InvalidInput, NotFound, PermissionRefused, StaleVersion
from config.limits import LINE_MAX_CHARS, check_text_lengths
from measures import permissions
from measures.choices import GateRequestState, RebaselineState, ScopeKind, ScopeRole, Stage
from measures.models import GateRequest, Measure, Scope
from measures.services.audit import audit_append

EDITABLE_FIELDS = [
    "title",
    "objective",
    "package",
    "owner",
    "sponsor",
    "controller",
    "business_unit",
    "no_known_risks",
    "no_known_overlaps",
]


TEXT_LIMITS = {"title": LINE_MAX_CHARS, "business_unit": LINE_MAX_CHARS}


def measure_for_update(*, measure_id: int, by) -> Measure:
    """Lock the measure row (inside the caller's transaction) and check the user may see it.

    The one lock order of the governance core (ADR 0016): every service that changes a measure or
    anything of it locks the measure row first, then its gate or re-baseline requests, then its
    values. Two services touching the same measure therefore queue on the measure row instead of
    deadlocking on each other's rows."""
    measure = (
        Measure.objects.select_for_update(of=("self",))
        .select_related("package")
        .filter(pk=measure_id)
        .first()
    )
    if measure is None or not permissions.can_see_measure(by, measure):
        raise NotFound("No such measure.")
    return measure


def check_version(measure: Measure, version: int | None) -> None:
    if version is not None and int(version) != measure.version:
        raise StaleVersion(
            f"The measure was changed meanwhile (you sent version {version}, it is now at "
            f"{measure.version}). Reload it and apply your change again."
        )


PEOPLE_FIELDS = ("owner", "sponsor", "controller")


def _check_people(*, package: Scope, owner, sponsor, controller) -> None:
    """DESIGN §4, §5.1: the measure lives in a package; owner, sponsor and controller each hold a
    fitting role in its scope (permissions.PEOPLE_ROLES) and are three different people, so no
    approval of the measure can be given by the person it is meant to check."""
    if package.kind != ScopeKind.PACKAGE:
        raise InvalidInput(
            "A measure belongs to a measure package.", details={"package": ["Choose a measure package."]}
        )
    people = {"owner": owner, "sponsor": sponsor, "controller": controller}
    errors: dict[str, list[str]] = {}
    for field, person in people.items():
        if person is None:
            continue
        permissions.forget_cached_permissions(person)
        if not person.is_active or not permissions.fits_measure_role(person, package, field):
            wanted = " or ".join(ScopeRole(role).label.lower() for role in permissions.PEOPLE_ROLES[field])
            errors[field] = [
                f"{person.get_full_name() or person.username} must hold the {wanted} role in "
                f"'{package.name}' or a scope above it."
            ]
    for first, second in (("owner", "sponsor"), ("owner", "controller"), ("sponsor", "controller")):
        a, b = people[first], people[second]
        if a is not None and b is not None and a.pk == b.pk and second not in errors:
            errors[second] = [f"The {second} must be someone other than the {first} (four-eyes)."]
    if errors:
        raise InvalidInput(
            " ".join(message for messages in errors.values() for message in messages), details=errors
        )


def _check_may_change_people(measure: Measure, by, changed: list[str]) -> None:
    """DESIGN §5.1: only a program manager of the scope (or an admin) changes the people or moves the
    measure, and never while a gate or re-baseline request is pending: the request's approvers and
    its four-eyes rules were fixed when it was made."""
    if not set(changed) & {*PEOPLE_FIELDS, "package"}:
        return
    if not permissions.can_assign_people(by, measure.package):
        raise PermissionRefused(
            "Only a program manager of the measure's scope may change its owner, sponsor, controller "
            "or package."
        )
    if measure.gate_requests.filter(state=GateRequestState.PENDING).exists():
        raise Conflict(
            "A gate request is pending: decide or withdraw it before changing the measure's people "
            "or package."
        )
    if measure.rebaseline_requests.filter(state=RebaselineState.PENDING).exists():
        raise Conflict(
            "A re-baseline request is pending: decide it before changing the measure's people or package."
        )


def _next_code() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('measures_measure', 'id'))")
        pk = cursor.fetchone()[0]
    return pk, f"M-{pk:05d}"


def measure_create(
    *,
    by,
    title: str,
    objective: str,
    package: Scope,
    owner=None,
    sponsor=None,
    controller=None,
    business_unit: str = "",
    no_known_risks: bool = False,
    no_known_overlaps: bool = False,
) -> Measure:
    """Create a measure at DoI 0 (DESIGN §5.1: title, objective/starting point and package).
    Admins, program managers and contributors of the package create; the creator owns it when no
    owner is named and they are a contributor."""
    if not permissions.can_create_measure(by, package):
        raise PermissionRefused("Only a program manager or contributor of this package may add measures.")
    check_text_lengths(
        {"title": title, "objective": objective, "business_unit": business_unit}, limits=TEXT_LIMITS
    )
    errors = {}
    if not (title or "").strip():
        errors["title"] = ["Give the measure a title."]
    if not (objective or "").strip():
        errors["objective"] = ["Describe the objective and starting point."]
    if errors:
        raise InvalidInput("A measure needs a title and an objective.", details=errors)
    if owner is None and permissions.has_scope_role(by, package, ScopeRole.CONTRIBUTOR):
        owner = by
    _check_people(package=package, owner=owner, sponsor=sponsor, controller=controller)
    with transaction.atomic():
        pk, code = _next_code()
        measure = Measure.objects.create(
            pk=pk,
            code=code,
            title=title.strip(),
            objective=objective.strip(),
            package=package,
            owner=owner,
            sponsor=sponsor,
            controller=controller,
            business_unit=business_unit,
            no_known_risks=no_known_risks,
            no_known_overlaps=no_known_overlaps,
            created_by=by,
        )
        audit_append(
            actor=by,
            action="measure_created",
            subject=measure,
            measure_id=measure.pk,
            after=_snapshot(measure),
        )
    return measure


def _snapshot(measure: Measure, fields: list[str] | None = None) -> dict[str, Any]:
    data = {}
    for name in fields or [*EDITABLE_FIELDS, "stage"]:
        field = Measure._meta.get_field(name)
        data[name] = getattr(measure, field.attname)
    return data


def measure_update(*, measure: Measure, by, version: int | None, **changes: Any) -> Measure:
    """Edit a measure's fields with optimistic locking: a stale `version` is refused (409)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    check_text_lengths(changes, limits=TEXT_LIMITS)
    with transaction.atomic():
        measure = measure_for_update(measure_id=measure.pk, by=by)
        if not permissions.can_edit_measure(by, measure):
            raise PermissionRefused(permissions.EDIT_REFUSAL)
        check_version(measure, version)
        if measure.stage in (Stage.CLOSED, Stage.CANCELLED):
            raise Conflict(f"A {measure.get_stage_display().lower()} measure cannot be edited.")
        changed = [name for name, value in changes.items() if getattr(measure, name) != value]
        _check_may_change_people(measure, by, changed)
        if "package" in changed and not permissions.can_create_measure(by, changes["package"]):
            raise PermissionRefused("You may only move measures into packages where you may add them.")
        if not changed:
            return measure
        before = _snapshot(measure, changed)
        for name in changed:
            setattr(measure, name, changes[name])
        if "title" in changed and not measure.title.strip():
            raise InvalidInput("A measure needs a title.", details={"title": ["Give the measure a title."]})
        _check_people(
            package=measure.package,
            owner=measure.owner,
            sponsor=measure.sponsor,
            controller=measure.controller,
        )
        measure.version += 1
        measure.save()
        audit_append(
            actor=by,
            action="measure_updated",
            subject=measure,
            measure_id=measure.pk,
            before=before,
            after=_snapshot(measure, changed),
        )
    return measure


def run_transition(measure: Measure, name: str, *args: Any) -> None:
    """Call a django-fsm transition and save; a transition not allowed from here is a 409."""
    before = measure.stage
    try:
        getattr(measure, name)(*args)
        measure.save()
    except TransitionNotAllowed as exc:
        raise Conflict(f"A measure that is {Stage(before).label} cannot {name.replace('_', ' ')}.") from exc
    except ConcurrentTransition as exc:
        raise Conflict("The measure changed state meanwhile. Reload and try again.") from exc


def _withdraw_pending(measure: Measure, by, reason: str) -> None:
    for request in GateRequest.objects.filter(measure=measure, state=GateRequestState.PENDING):
        request.state = GateRequestState.WITHDRAWN
        request.save(update_fields=["state"])
        audit_append(
            actor=by,
            action="gate_request_withdrawn",
            subject=request,
            measure_id=measure.pk,
            after={"to_doi": request.to_doi},
            comment=reason,
        )


def _side_state_change(
    *, measure: Measure, by, version: int | None, name: str, reason: str = "", allowed, refusal: str
) -> Measure:
    with transaction.atomic():
        measure = measure_for_update(measure_id=measure.pk, by=by)
        if not allowed(by, measure):
            raise PermissionRefused(refusal)
        check_version(measure, version)
        before = measure.stage
        run_transition(measure, name, *([reason] if name != "resume" else []))
        if name != "resume":
            _withdraw_pending(measure, by, f"Measure {measure.get_stage_display().lower()}: {reason}")
        audit_append(
            actor=by,
            action=f"measure_{name}",
            subject=measure,
            measure_id=measure.pk,
            before={"stage": before},
            after={"stage": measure.stage},
            comment=reason,
        )
    return measure


def _require_reason(reason: str, what: str) -> str:
    if not (reason or "").strip():
        raise InvalidInput(
            f"Give a reason to {what} the measure.", details={"reason": ["A reason is required."]}
        )
    check_text_lengths({"reason": reason})
    return reason.strip()


def measure_hold(*, measure: Measure, by, reason: str, version: int | None = None) -> Measure:
    """Put a measure on hold (DESIGN §5.1 side state, reason required); a pending gate request is
    withdrawn. Owner, sponsor, program managers and admins may."""
    return _side_state_change(
        measure=measure,
        by=by,
        version=version,
        name="hold",
        reason=_require_reason(reason, "hold"),
        allowed=permissions.can_hold_measure,
        refusal="Only the owner, the sponsor or a program manager may put this measure on hold.",
    )


def measure_resume(*, measure: Measure, by, version: int | None = None) -> Measure:
    """Resume a measure on hold: it returns to the DoI it left (DESIGN §5.1)."""
    return _side_state_change(
        measure=measure,
        by=by,
        version=version,
        name="resume",
        allowed=permissions.can_hold_measure,
        refusal="Only the owner, the sponsor or a program manager may resume this measure.",
    )


def measure_cancel(*, measure: Measure, by, reason: str, version: int | None = None) -> Measure:
    """Cancel a measure from any state but Closed (DESIGN §5.1): sponsor or program manager only."""
    return _side_state_change(
        measure=measure,
        by=by,
        version=version,
        name="cancel",
        reason=_require_reason(reason, "cancel"),
        allowed=permissions.can_cancel_measure,
        refusal="Only the sponsor or a program manager of the scope may cancel a measure.",
    )


def measure_status_override(
    *, measure: Measure, by, light: str, status: str, comment: str, version: int | None = None
) -> Measure:
    """Override one of the two lights (DESIGN §5.3): a comment is required, the change is audited,
    and the computed value stays visible beside it. `status=""` removes the override."""
    if light not in ("implementation", "potential"):
        raise InvalidInput(
            "Choose the implementation or the potential light.", details={"light": ["Unknown light."]}
        )
    if status not in ("", "grey", "green", "amber", "red"):
        raise InvalidInput("Choose grey, green, amber or red.", details={"status": ["Unknown colour."]})
    if not (comment or "").strip():
        raise InvalidInput(
            "Say why the light is overridden.", details={"comment": ["A comment is required."]}
        )
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        measure = measure_for_update(measure_id=measure.pk, by=by)
        if not permissions.can_override_status(by, measure):
            raise PermissionRefused(
                "Only a program manager or a controller of the scope may override a status light."
            )
        check_version(measure, version)
        field = f"{light}_override"
        before = {"status": getattr(measure, field), "comment": getattr(measure, f"{field}_comment")}
        setattr(measure, field, status)
        setattr(measure, f"{field}_comment", comment.strip() if status else "")
        measure.version += 1
        measure.save()
        audit_append(
            actor=by,
            action="status_override",
            subject=measure,
            measure_id=measure.pk,
            before={"light": light, **before},
            after={"light": light, "status": status},
            comment=comment.strip(),
        )
    return measure
