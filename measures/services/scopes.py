"""State changes of the governance core. Views, viewsets, admin, tasks and commands call these;
each checks permission itself, runs in a transaction and leaves nothing half-written."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from config.errors import Conflict, InvalidInput, PermissionRefused
from config.limits import LINE_MAX_CHARS, check_text_lengths
from measures import permissions
from measures.choices import SCOPE_KIND_RANK, ScopeKind, ScopeRole
from measures.models import Membership, Scope

# --- Scope tree (DESIGN §4) ------------------------------------------------------------------


def check_scope_placement(*, kind: str, parent: Scope | None, scope: Scope | None = None) -> None:
    """A portfolio is a root; anything else sits under a scope of a higher level; no cycles."""
    if kind not in SCOPE_KIND_RANK:
        raise InvalidInput(f"Unknown scope kind '{kind}'.", details={"kind": ["Unknown kind."]})
    if parent is None:
        if kind != ScopeKind.PORTFOLIO:
            raise InvalidInput(
                f"A {ScopeKind(kind).label.lower()} needs a parent scope; only a portfolio is a root.",
                details={"parent": ["This scope kind needs a parent."]},
            )
        return
    if SCOPE_KIND_RANK[ScopeKind(parent.kind)] >= SCOPE_KIND_RANK[ScopeKind(kind)]:
        raise InvalidInput(
            f"A {ScopeKind(parent.kind).label.lower()} cannot contain a {ScopeKind(kind).label.lower()}.",
            details={"parent": [f"A {parent.kind} cannot contain a {kind}."]},
        )
    if scope is not None and scope.pk and parent.path.startswith(scope.path):
        raise InvalidInput(
            f"'{scope.name}' cannot move under '{parent.name}': that would make a cycle.",
            details={"parent": ["A scope cannot move under itself or one of its descendants."]},
        )


def scope_create(
    *, name: str, kind: str, parent: Scope | None, by: AbstractBaseUser, description: str = ""
) -> Scope:
    """Create a scope under `parent` (DESIGN §4). Admins create anywhere; program managers
    below the scopes they manage."""
    if not permissions.can_manage_scope(by, parent):
        raise PermissionRefused("Only an admin or a program manager of the parent scope may add scopes.")
    check_text_lengths({"name": name, "description": description}, limits={"name": LINE_MAX_CHARS})
    if not (name or "").strip():
        raise InvalidInput("Give the scope a name.", details={"name": ["A name is required."]})
    check_scope_placement(kind=kind, parent=parent)
    with transaction.atomic():
        try:
            scope = Scope.objects.create(name=name, kind=kind, parent=parent, description=description)
        except IntegrityError as exc:
            raise Conflict(f"A scope named '{name}' already exists there.") from exc
        scope.path = f"{parent.path if parent else '/'}{scope.pk}/"
        scope.save(update_fields=["path"])
    return scope


def scope_update(
    *,
    scope: Scope,
    by: AbstractBaseUser,
    name: str | None = None,
    description: str | None = None,
    parent: Scope | None = None,
    move: bool = False,
    milestone_red_days: int | None | object = ...,
    potential_tolerance_percent: Decimal | None | object = ...,
    leakage_percent: Decimal | None | object = ...,
) -> Scope:
    """Rename or move a scope. A move re-roots the whole subtree's paths in one UPDATE."""
    check_text_lengths({"name": name, "description": description}, limits={"name": LINE_MAX_CHARS})
    with transaction.atomic():
        scope = Scope.objects.select_for_update().get(pk=scope.pk)
        if not permissions.can_manage_scope(by, scope.parent or scope):
            raise PermissionRefused("Only an admin or a program manager above this scope may change it.")
        if name is not None:
            scope.name = name
        if description is not None:
            scope.description = description
        if milestone_red_days is not ...:
            scope.milestone_red_days = milestone_red_days
        # Per-program thresholds of the potential light and leakage (DESIGN §5.3).
        if potential_tolerance_percent is not ...:
            scope.potential_tolerance_percent = potential_tolerance_percent
        if leakage_percent is not ...:
            scope.leakage_percent = leakage_percent
        if move and parent != scope.parent:
            if not permissions.can_manage_scope(by, parent):
                raise PermissionRefused("You may only move scopes under scopes you manage.")
            check_scope_placement(kind=scope.kind, parent=parent, scope=scope)
            old_path = scope.path
            new_path = f"{parent.path if parent else '/'}{scope.pk}/"
            scope.parent = parent
            Scope.objects.filter(path__startswith=old_path).update(
                path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
            )
            scope.path = new_path
        try:
            scope.save()
        except IntegrityError as exc:
            raise Conflict(f"A scope named '{scope.name}' already exists there.") from exc
    return scope


# --- Memberships (DESIGN §4) -----------------------------------------------------------------


def membership_create(*, user: AbstractBaseUser, scope: Scope, role: str, by: AbstractBaseUser) -> Membership:
    if not permissions.is_admin(by):
        raise PermissionRefused("Only an admin may grant roles.")
    if role not in ScopeRole.values:
        raise InvalidInput(f"Unknown role '{role}'.", details={"role": ["Unknown role."]})
    membership, _ = Membership.objects.get_or_create(user=user, scope=scope, role=role)
    permissions.forget_cached_permissions(user)
    return membership


def membership_delete(*, membership: Membership, by: AbstractBaseUser) -> None:
    if not permissions.is_admin(by):
        raise PermissionRefused("Only an admin may revoke roles.")
    membership.delete()


# --- People (DESIGN §9: admins create and deactivate users) -----------------------------------


def user_create(
    *,
    username: str,
    password: str,
    by: AbstractBaseUser,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    groups: list[str] | None = None,
) -> AbstractBaseUser:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from measures.choices import GlobalGroup

    if not permissions.is_admin(by):
        raise PermissionRefused("Only an admin may create users.")
    user_model = get_user_model()
    unknown = set(groups or []) - set(GlobalGroup.values)
    if unknown:
        raise InvalidInput(
            f"Unknown group(s): {', '.join(sorted(unknown))}.",
            details={"groups": [f"Choose from {', '.join(GlobalGroup.values)}."]},
        )
    if user_model.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username '{username}' is taken.")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput("The password is too weak.", details={"password": exc.messages}) from exc
    with transaction.atomic():
        user = user_model.objects.create_user(
            username=username, password=password, first_name=first_name, last_name=last_name, email=email
        )
        if groups:
            user.groups.set(Group.objects.filter(name__in=groups))
    return user


def user_deactivate(*, user: AbstractBaseUser, by: AbstractBaseUser) -> AbstractBaseUser:
    """Deactivation keeps the person's history (audit, approvals) and revokes their API token."""
    if not permissions.is_admin(by):
        raise PermissionRefused("Only an admin may deactivate users.")
    if user.pk == by.pk:
        raise Conflict("You cannot deactivate yourself.")
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        Token.objects.filter(user=user).delete()
    return user
