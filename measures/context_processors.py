"""Navigation for the base layout: only the sections the user may open, the current one marked."""

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from measures import permissions
from measures.choices import ScopeRole
from readcache.selectors import cached_read

# (label, url name, who sees it). Sections whose URL is not installed yet are left out.
_SECTIONS = [
    ("Dashboard", "reporting:home", "all"),
    ("Measures", "measures:list", "all"),
    ("Approvals", "measures:inbox", "all"),
    ("Controller inbox", "reporting:controller-inbox", "controller"),
    ("Incidents", "incidents:list", "all"),
    ("Reviews", "reviews:list", "all"),
    ("Reports", "reporting:reports", "all"),
    ("Scopes", "measures:scopes", "all"),
    ("Admin", "admin:index", "admin"),
]


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_sections": []}
    sections = cached_read("navigation", request=request, key=(), compute=lambda: _sections(user))
    for section in sections:
        url = section["url"]
        section["current"] = request.path == url if url == "/" else request.path.startswith(url)
    return {"nav_sections": sections}


def _sections(user) -> list[dict]:
    sections = []
    for label, name, audience in _SECTIONS:
        if audience == "admin" and not (permissions.is_admin(user) or user.is_staff):
            continue
        if audience == "controller" and not permissions.holds_role_anywhere(user, ScopeRole.CONTROLLER):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        section = {"label": label, "url": url}
        if name == "measures:inbox":
            waiting = _waiting_count(user)
            if waiting:
                section["label"] = f"{label} ({waiting})"
        sections.append(section)
    return sections


def _waiting_count(user) -> int:
    """How many items wait in the user's approvals inbox (shown beside "Approvals")."""
    from measures.choices import NotificationKind
    from measures.models import Notification
    from measures.selectors import pending_approvals_for

    revisions = Notification.objects.filter(
        user=user, kind=NotificationKind.REVISION_REQUESTED, resolved_at__isnull=True
    ).count()
    return pending_approvals_for(user).count() + revisions
