"""Who may see and do what in the scope tree (DESIGN §4). Every page, endpoint, export and report
starts from these functions, so the rule lives in one place.

- Leadership and admins see every scope; nobody else sees a scope they hold no role in or above.
- A role held in a scope holds in every scope below it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from measures.choices import GlobalGroup, ScopeRole
from measures.models import Membership, Scope

User = get_user_model()
AnyUser = AbstractBaseUser | AnonymousUser

_CACHE_ATTR = "_valuegate_memberships"
_GROUPS_ATTR = "_valuegate_groups"


def _groups(user: AnyUser) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _GROUPS_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _GROUPS_ATTR, cached)
    return cached


def is_admin(user: AnyUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or GlobalGroup.ADMIN in _groups(user)))


def is_leadership(user: AnyUser) -> bool:
    return GlobalGroup.LEADERSHIP in _groups(user)


def is_incident_manager(user: AnyUser) -> bool:
    return is_admin(user) or GlobalGroup.INCIDENT_MANAGER in _groups(user)


def sees_everything(user: AnyUser) -> bool:
    return is_admin(user) or is_leadership(user)


def _memberships(user: AnyUser) -> list[tuple[str, str]]:
    """(scope path, role) pairs of the user, read once per user object."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user, user__is_active=True).values_list("scope__path", "role")
        )
        setattr(user, _CACHE_ATTR, cached)
    return cached


def holds_role_anywhere(user: AnyUser, role: str) -> bool:
    return any(held == role for _, held in _memberships(user))


def forget_cached_permissions(user: AnyUser) -> None:
    for attr in (_CACHE_ATTR, _GROUPS_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


def scope_filter(user: AnyUser, path_field: str = "path", roles: Iterable[str] | None = None) -> Q:
    """A Q that keeps rows whose scope (reached through `path_field`) lies at or below a scope where
    the user holds one of `roles` (any role when None). Leadership and admins pass everything when
    no roles are asked for."""
    if roles is None and sees_everything(user):
        return Q()
    wanted = set(roles) if roles is not None else None
    paths = {path for path, role in _memberships(user) if wanted is None or role in wanted}
    if not paths:
        return Q(pk__in=[])
    query = Q()
    for path in _outermost(paths):
        query |= Q(**{f"{path_field}__startswith": path})
    return query


def _outermost(paths: set[str]) -> list[str]:
    """Drop paths already covered by a shorter one, so the SQL stays small."""
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path.startswith(prefix) for prefix in kept):
            kept.append(path)
    return kept


def visible_scopes(user: AnyUser) -> QuerySet[Scope]:
    return Scope.objects.filter(scope_filter(user))


def can_see_scope(user: AnyUser, scope: Scope) -> bool:
    return sees_everything(user) or bool(roles_in_scope(user, scope))


def roles_in_scope(user: AnyUser, scope: Scope) -> set[str]:
    """Every role the user holds in `scope`, directly or inherited from above."""
    return {role for path, role in _memberships(user) if scope.path.startswith(path)}


def has_scope_role(user: AnyUser, scope: Scope, *roles: str) -> bool:
    return bool(roles_in_scope(user, scope) & set(roles))


def users_with_scope_role(scope: Scope, *roles: str) -> QuerySet:
    """Active users holding one of `roles` in `scope` or above it."""
    ancestor_paths = _ancestor_paths(scope)
    return User.objects.filter(
        is_active=True, memberships__role__in=roles, memberships__scope__path__in=ancestor_paths
    ).distinct()


def _ancestor_paths(scope: Scope) -> list[str]:
    ids = scope.ancestor_ids
    return ["/" + "/".join(str(i) for i in ids[: n + 1]) + "/" for n in range(len(ids))]


def can_manage_scope(user: AnyUser, scope: Scope | None) -> bool:
    """Admins manage the whole tree; program managers manage what lies below their scopes."""
    if is_admin(user):
        return True
    return scope is not None and has_scope_role(user, scope, ScopeRole.PROGRAM_MANAGER)


# --- Measures (DESIGN §4, §5.1) --------------------------------------------------------------


def visible_measures(user: AnyUser) -> QuerySet:
    """Measures in the user's visible scopes, plus those they own, sponsor or control."""
    from measures.models import Measure

    if not user.is_authenticated:
        return Measure.objects.none()
    query = scope_filter(user, "package__path")
    if query:  # an empty Q means "everything"
        query |= Q(owner=user) | Q(sponsor=user) | Q(controller=user)
    return Measure.objects.filter(query)


def can_see_measure(user: AnyUser, measure) -> bool:
    return bool(
        user.is_authenticated
        and (
            can_see_scope(user, measure.package)
            or user.pk in (measure.owner_id, measure.sponsor_id, measure.controller_id)
        )
    )


def can_create_measure(user: AnyUser, package: Scope) -> bool:
    return is_admin(user) or has_scope_role(user, package, ScopeRole.PROGRAM_MANAGER, ScopeRole.CONTRIBUTOR)


EDIT_REFUSAL = "Only the measure's owner or a program manager of its scope may edit it."


def can_edit_measure(user: AnyUser, measure) -> bool:
    """Program managers edit in their scopes; contributors only the measures they own."""
    if is_admin(user) or has_scope_role(user, measure.package, ScopeRole.PROGRAM_MANAGER):
        return True
    return bool(user.is_authenticated and measure.owner_id == user.pk)


# DESIGN §4/§5.1: the roles in the measure's scope that fit each of its people.
PEOPLE_ROLES = {
    "owner": (ScopeRole.CONTRIBUTOR, ScopeRole.PROGRAM_MANAGER),
    "sponsor": (ScopeRole.CONTRIBUTOR, ScopeRole.PROGRAM_MANAGER, ScopeRole.CONTROLLER),
    "controller": (ScopeRole.CONTROLLER,),
}


def fits_measure_role(user: AnyUser, package: Scope, person: str) -> bool:
    """Whether `user` holds a role in `package` (or above) that fits the measure's `person` field."""
    return has_scope_role(user, package, *PEOPLE_ROLES[person])


def can_assign_people(user: AnyUser, package: Scope) -> bool:
    """DESIGN §5.1: owner, sponsor and controller are changed by a program manager of the scope or
    an admin, never by the people themselves."""
    return is_admin(user) or has_scope_role(user, package, ScopeRole.PROGRAM_MANAGER)


def can_request_gate(user: AnyUser, measure) -> bool:
    """The owner, the sponsor or a program manager of the scope asks for the next gate."""
    if has_scope_role(user, measure.package, ScopeRole.PROGRAM_MANAGER):
        return True
    return bool(user.is_authenticated and user.pk in (measure.owner_id, measure.sponsor_id))


def can_hold_measure(user: AnyUser, measure) -> bool:
    return can_request_gate(user, measure) or is_admin(user)


def can_cancel_measure(user: AnyUser, measure) -> bool:
    """DESIGN §5.1: cancelling is approved by the sponsor or a program manager."""
    if is_admin(user) or has_scope_role(user, measure.package, ScopeRole.PROGRAM_MANAGER):
        return True
    return bool(user.is_authenticated and measure.sponsor_id == user.pk)


def approver_roles(user: AnyUser, measure) -> set[str]:
    """The approval roles (ApproverRole values) `user` can fill on a request for `measure`."""
    from measures.choices import ApproverRole

    roles = set()
    if (
        user.is_authenticated
        and measure.sponsor_id == user.pk
        and fits_measure_role(user, measure.package, "sponsor")
    ):
        roles.add(ApproverRole.SPONSOR.value)
    held = roles_in_scope(user, measure.package)
    if ScopeRole.PROGRAM_MANAGER in held:
        roles.add(ApproverRole.PROGRAM_MANAGER.value)
    if ScopeRole.CONTROLLER in held:
        roles.add(ApproverRole.CONTROLLER.value)
    return roles


def can_override_status(user: AnyUser, measure) -> bool:
    """DESIGN §5.3: a status light may be overridden (with a comment) by a program manager or a
    controller of the measure's scope."""
    return has_scope_role(user, measure.package, ScopeRole.PROGRAM_MANAGER, ScopeRole.CONTROLLER)


def can_validate_actuals(user: AnyUser, measure) -> bool:
    """DESIGN §5.1 four-eyes: only a controller of the measure's scope validates actuals, and never
    the measure's owner. (Actuals arrive with the Financial effects issue; the rule lives here.)"""
    if not has_scope_role(user, measure.package, ScopeRole.CONTROLLER):
        return False
    return bool(user.is_authenticated and measure.owner_id != user.pk)


def can_set_targets(user: AnyUser, measure) -> bool:
    """DESIGN §5.2: targets are set top-down, by a program manager of the scope (or an admin)."""
    return is_admin(user) or has_scope_role(user, measure.package, ScopeRole.PROGRAM_MANAGER)
