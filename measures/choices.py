from django.db import models


class ScopeKind(models.TextChoices):
    PORTFOLIO = "portfolio", "Portfolio"
    PROGRAM = "program", "Program"
    PROJECT = "project", "Project"
    PACKAGE = "package", "Measure package"


# Depth of each kind in the tree: a scope may only sit under a scope of a smaller rank (DESIGN §4).
SCOPE_KIND_RANK = {
    ScopeKind.PORTFOLIO: 0,
    ScopeKind.PROGRAM: 1,
    ScopeKind.PROJECT: 2,
    ScopeKind.PACKAGE: 3,
}


class ScopeRole(models.TextChoices):
    PROGRAM_MANAGER = "program_manager", "Program manager"
    CONTROLLER = "controller", "Controller"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"


class GlobalGroup(models.TextChoices):
    LEADERSHIP = "leadership", "Leadership"
    INCIDENT_MANAGER = "incident_manager", "Incident manager"
    ADMIN = "admin", "Admin"
