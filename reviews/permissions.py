"""Who may read, write, sign off and waive post-incident reviews (DESIGN §4, §7).

PIRs follow their incident: every active user reads them. The people of the incident (anyone
holding a response role, the owners of its services) and incident managers write them. The two
sign-offs come from the incident's MIM and its service owner. Waiving is for incident managers.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from incidents import permissions as incident_permissions
from incidents.choices import RoleKind
from incidents.models import Incident, IncidentRole
from reviews.choices import ApprovalRole

AnyUser = AbstractBaseUser | AnonymousUser


def can_read_reviews(user: AnyUser) -> bool:
    return incident_permissions.can_read_incidents(user)


def is_manager(user: AnyUser) -> bool:
    return incident_permissions.can_change_incidents(user)


def _current_roles(user: AnyUser, incident: Incident) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(
        IncidentRole.objects.filter(incident=incident, user=user, ended_at__isnull=True).values_list(
            "role", flat=True
        )
    )


def owns_a_service(user: AnyUser, incident: Incident) -> bool:
    return bool(user.is_authenticated and incident.services.filter(owner=user).exists())


def approval_roles(user: AnyUser, incident: Incident) -> set[str]:
    """The sign-offs `user` can give on the PIR of `incident`: MIM (the current MIM of the
    incident) and service owner (the incident's service-owner role, or an owner of an affected
    service)."""
    if not can_read_reviews(user):
        return set()
    held = _current_roles(user, incident)
    roles = set()
    if RoleKind.MIM in held:
        roles.add(ApprovalRole.MIM.value)
    if RoleKind.SERVICE_OWNER in held or owns_a_service(user, incident):
        roles.add(ApprovalRole.SERVICE_OWNER.value)
    return roles


def can_edit_review(user: AnyUser, incident: Incident) -> bool:
    if not can_read_reviews(user):
        return False
    return is_manager(user) or bool(_current_roles(user, incident)) or owns_a_service(user, incident)


def can_waive_review(user: AnyUser) -> bool:
    return is_manager(user)


def can_work_on_action(user: AnyUser, action) -> bool:
    """The action's owner moves their own action forward; the PIR's writers may too."""
    if not can_read_reviews(user):
        return False
    return action.owner_id == user.pk or can_edit_review(user, action.review.incident)
