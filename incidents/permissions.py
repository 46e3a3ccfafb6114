"""Who may read and change major incidents (DESIGN §4, §6).

Incidents are not scoped: every active, signed-in user may read them (leadership included).
Only incident managers and admins (or superusers) change them or the catalog they rely on.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

INCIDENT_MANAGER = "incident_manager"
ADMIN = "admin"
LEADERSHIP = "leadership"

AnyUser = AbstractBaseUser | AnonymousUser
_GROUPS_ATTR = "_incident_groups"


def _groups(user: AnyUser) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _GROUPS_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _GROUPS_ATTR, cached)
    return cached


def is_admin(user: AnyUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or ADMIN in _groups(user)))


def is_leadership(user: AnyUser) -> bool:
    return LEADERSHIP in _groups(user)


def can_read_incidents(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_change_incidents(user: AnyUser) -> bool:
    return bool(can_read_incidents(user) and (is_admin(user) or INCIDENT_MANAGER in _groups(user)))


def can_configure(user: AnyUser) -> bool:
    """Services catalog, declaration criteria, templates: incident managers and admins."""
    return can_change_incidents(user)
