"""Demo people and scope tree (idempotent: every row is looked up by its natural key first).

`manage.py demo` calls `load()`; later apps add their own `demo.py` that build on this cast.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from measures.choices import GlobalGroup, ScopeKind, ScopeRole
from measures.demo_effects import load_effects
from measures.demo_measures import load_measures
from measures.models import Membership, Scope
from measures.permissions import forget_cached_permissions

DEMO_PASSWORD = "valuegate-demo"  # noqa: S105  (printed by `demo`; local use only)

# username: (first, last, what they do in the demo, global groups)
PEOPLE = {
    "pm": ("Paula", "Martin", "program manager of all three programs", []),
    "controller": ("Carl", "Ortiz", "controller of the portfolio", []),
    "sponsor": ("Sofia", "Brandt", "sponsor (contributor in every program)", []),
    "owner": ("Omar", "Hassan", "measure owner (contributor in every program)", []),
    "owner2": ("Nina", "Keller", "measure owner in Payments resilience", []),
    "viewer": ("Victor", "Weiss", "viewer of the Service desk program only", []),
    "leader": ("Lena", "Fischer", "leadership: reads everything", [GlobalGroup.LEADERSHIP]),
    "mim": ("Mia", "Ivanova", "major incident manager", [GlobalGroup.INCIDENT_MANAGER]),
    "mim2": (
        "Jonas",
        "Berg",
        "second incident manager (service owner on incidents)",
        [GlobalGroup.INCIDENT_MANAGER],
    ),
    "admin": ("Ada", "Admin", "administrator", [GlobalGroup.ADMIN]),
}

PORTFOLIO = "IT Resilience & Efficiency"
# program: {project: [packages]}
TREE = {
    "Payments resilience": {
        "Gateway hardening": ["Failover automation", "Capacity headroom"],
        "Monitoring uplift": ["Synthetic checks"],
    },
    "Service desk efficiency": {
        "Incident process": ["Major incident process", "Knowledge and self-service"],
    },
    "Cloud cost optimisation": {
        "Compute rightsizing": ["Reserved capacity", "Idle resources"],
    },
}

MEMBERSHIPS = [
    ("pm", None, ScopeRole.PROGRAM_MANAGER),
    ("controller", None, ScopeRole.CONTROLLER),
    ("sponsor", None, ScopeRole.CONTRIBUTOR),
    ("owner", None, ScopeRole.CONTRIBUTOR),
    ("owner2", "Payments resilience", ScopeRole.CONTRIBUTOR),
    ("viewer", "Service desk efficiency", ScopeRole.VIEWER),
]


def _scope(name: str, kind: str, parent: Scope | None) -> Scope:
    scope, created = Scope.objects.get_or_create(name=name, parent=parent, defaults={"kind": kind})
    if created or not scope.path:
        scope.path = f"{parent.path if parent else '/'}{scope.pk}/"
        scope.save(update_fields=["path"])
    return scope


def load_people() -> dict[str, object]:
    user_model = get_user_model()
    cast = {}
    for username, (first, last, _, groups) in PEOPLE.items():
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@valuegate.example"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if username == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in groups))
        cast[username] = user
    return cast


def load_tree() -> dict[str, Scope]:
    scopes = {}
    portfolio = _scope(PORTFOLIO, ScopeKind.PORTFOLIO, None)
    scopes[PORTFOLIO] = portfolio
    for program_name, projects in TREE.items():
        program = _scope(program_name, ScopeKind.PROGRAM, portfolio)
        scopes[program_name] = program
        for project_name, packages in projects.items():
            project = _scope(project_name, ScopeKind.PROJECT, program)
            scopes[project_name] = project
            for package_name in packages:
                scopes[package_name] = _scope(package_name, ScopeKind.PACKAGE, project)
    return scopes


def load(stdout=None) -> None:
    cast = load_people()
    scopes = load_tree()
    for username, scope_name, role in MEMBERSHIPS:
        scope = scopes[scope_name] if scope_name else scopes[PORTFOLIO]
        if username == "pm":
            for program in TREE:
                Membership.objects.get_or_create(user=cast[username], scope=scopes[program], role=role)
            continue
        Membership.objects.get_or_create(user=cast[username], scope=scope, role=role)
    for user in cast.values():
        forget_cached_permissions(user)
    load_measures(cast, scopes)
    load_effects(cast, scopes)


def logins() -> list[tuple[str, str, str]]:
    return [(username, DEMO_PASSWORD, info[2]) for username, info in PEOPLE.items()]
