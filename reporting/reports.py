"""The report kinds: who may have each, what goes into it, which print template draws it.

Adding a kind = one `ReportSpec` here plus its template under reporting/templates/reporting/pdf/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from config.errors import InvalidInput, NotFound
from measures import permissions
from measures.models import Scope
from reporting.models import ReportKind


@dataclass(frozen=True)
class ReportSpec:
    kind: str
    param: str  # the one parameter naming the subject, e.g. "scope"
    template: str
    subject: Callable[[AbstractBaseUser | None, int], object]  # raises NotFound when invisible
    context: Callable[[object], dict]
    title: Callable[[object], str]


def _scope_for(user: AbstractBaseUser | None, pk: int) -> Scope:
    queryset = Scope.objects.all() if user is None else permissions.visible_scopes(user)
    scope = queryset.filter(pk=pk).first()
    if scope is None:
        raise NotFound("No such scope, or it lies outside your scopes.")
    return scope


def _steering_context(scope: Scope) -> dict:
    from reporting import selectors

    return selectors.steering_pack_context(scope=scope)


SPECS: dict[str, ReportSpec] = {
    ReportKind.STEERING_PACK: ReportSpec(
        kind=ReportKind.STEERING_PACK,
        param="scope",
        template="reporting/pdf/steering_pack.html",
        subject=_scope_for,
        context=_steering_context,
        title=lambda scope: f"Steering pack — {scope.name}",
    ),
}


def register(spec: ReportSpec) -> None:
    SPECS[spec.kind] = spec


def spec_for(kind: str) -> ReportSpec:
    try:
        return SPECS[kind]
    except KeyError:
        known = ", ".join(sorted(SPECS))
        raise InvalidInput(f"Unknown report kind '{kind}'. Choose one of: {known}.") from None


def subject_id(spec: ReportSpec, parameters: dict) -> int:
    value = parameters.get(spec.param)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"A {spec.kind.replace('_', ' ')} needs the parameter '{spec.param}' (an id).",
            details={"parameters": [f"'{spec.param}' must be an integer id."]},
        ) from None


def build(spec: ReportSpec, subject: object) -> dict:
    return {
        "title": spec.title(subject),
        "generated_at": timezone.now(),
        **spec.context(subject),
    }
