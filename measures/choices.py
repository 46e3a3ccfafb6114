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


class Stage(models.TextChoices):
    """DoI stages and side states of a measure (DESIGN §5.1)."""

    DEFINED = "defined", "DoI 0 · Defined"
    IDENTIFIED = "identified", "DoI 1 · Identified"
    DETAILED = "detailed", "DoI 2 · Detailed"
    DECIDED = "decided", "DoI 3 · Decided"
    IMPLEMENTED = "implemented", "DoI 4 · Implemented"
    CLOSED = "closed", "DoI 5 · Closed"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


# The DoI ladder in order; side states are not on it.
DOI_STAGES = [
    Stage.DEFINED,
    Stage.IDENTIFIED,
    Stage.DETAILED,
    Stage.DECIDED,
    Stage.IMPLEMENTED,
    Stage.CLOSED,
]
DOI_OF_STAGE = {stage.value: doi for doi, stage in enumerate(DOI_STAGES)}
DOI_NAMES = ["Defined", "Identified", "Detailed", "Decided", "Implemented", "Closed"]


# The colours of the two status lights (DESIGN §5.3).
LIGHTS = [("grey", "Grey"), ("green", "Green"), ("amber", "Amber"), ("red", "Red")]


class Recurrence(models.TextChoices):
    RECURRING = "recurring", "Recurring"
    ONE_TIME = "one_time", "One-time"


class Nature(models.TextChoices):
    BENEFIT = "benefit", "Benefit"
    COST_TO_ACHIEVE = "cost_to_achieve", "Cost to achieve"


class Hardness(models.TextChoices):
    HARD = "hard", "Hard"
    SOFT = "soft", "Soft"
    AVOIDANCE = "avoidance", "Avoidance"


# Labels of the default account chart (DESIGN §5.2); the chart itself is VALUEGATE_EFFECT_ACCOUNTS.
ACCOUNT_LABELS = {
    "pl_cost": "P&L cost",
    "pl_revenue": "P&L revenue",
    "cash": "Cash",
    "working_capital": "Working capital",
    "capex": "Capex",
    "fte": "FTE",
}


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    OCCURRED = "occurred", "Occurred"
    CLOSED = "closed", "Closed"


class DependencyKind(models.TextChoices):
    BLOCKS = "blocks", "Blocks"
    RELATES = "relates", "Relates to"
    OVERLAPS = "overlaps", "Overlaps"


class DocumentKind(models.TextChoices):
    BUSINESS_CASE = "business_case", "Business case"
    EVIDENCE = "evidence", "Evidence"
    CLOSURE = "closure", "Closure evidence"
    OTHER = "other", "Other"


class GateRequestState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ApproverRole(models.TextChoices):
    PROGRAM_MANAGER = "program_manager", "Program manager"
    SPONSOR = "sponsor", "Sponsor"
    CONTROLLER = "controller", "Controller"


class Decision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


# Who approves the request for each target DoI (DESIGN §5.1 table).
GATE_APPROVERS: dict[int, list[str]] = {
    1: [ApproverRole.PROGRAM_MANAGER],
    2: [ApproverRole.SPONSOR],
    3: [ApproverRole.SPONSOR, ApproverRole.CONTROLLER],
    4: [ApproverRole.SPONSOR],
    5: [ApproverRole.CONTROLLER],
}


class NotificationKind(models.TextChoices):
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    REVISION_REQUESTED = "revision_requested", "Revision requested"
    GATE_PASSED = "gate_passed", "Gate passed"


class Series(models.TextChoices):
    """The four series of monthly effect values (DESIGN §5.2)."""

    TARGET = "target", "Target"
    PLAN = "plan", "Plan"
    FORECAST = "forecast", "Forecast"
    ACTUAL = "actual", "Actual"


class ValidationState(models.TextChoices):
    """Validation of an actual value (DESIGN §5.2); other series carry no state ("")."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    VALIDATED = "validated", "Validated"
    REJECTED = "rejected", "Rejected"


class RebaselineState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
