"""Enumerations of the major-incident record (DESIGN §6)."""

from django.db import models


class IncidentState(models.TextChoices):
    REPORTED = "reported", "Reported"
    DECLARED = "declared", "Declared"
    RESTORED = "restored", "Restored"
    VALIDATED = "validated", "Validated"
    CLOSED = "closed", "Closed"
    NOT_MAJOR = "not_major", "Not major"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATES = (
    IncidentState.REPORTED,
    IncidentState.DECLARED,
    IncidentState.RESTORED,
    IncidentState.VALIDATED,
)
# Left out of every metric (DESIGN §6): they were never major incidents.
EXCLUDED_STATES = (IncidentState.NOT_MAJOR, IncidentState.CANCELLED)


class Severity(models.IntegerChoices):
    SEV1 = 1, "SEV1"
    SEV2 = 2, "SEV2"
    SEV3 = 3, "SEV3"
    SEV4 = 4, "SEV4"


class Tier(models.IntegerChoices):
    TIER1 = 1, "Tier 1 (most critical)"
    TIER2 = 2, "Tier 2"
    TIER3 = 3, "Tier 3"
    TIER4 = 4, "Tier 4"


class CriterionKind(models.TextChoices):
    """What a declaration criterion looks at (seed step 1). Thresholded kinds use `threshold`."""

    USERS_AFFECTED = "users_affected", "Users affected ≥ N"
    SERVICE_TIER = "service_tier", "Service tier ≤ T"
    CUSTOMER_FACING = "customer_facing", "Customer-facing service"
    REVENUE_IMPACT = "revenue_impact", "Revenue, production or operational impact"
    REGULATORY_RISK = "regulatory_risk", "Regulatory, security or data risk"
    ESTIMATED_DOWNTIME = "estimated_downtime", "Estimated downtime ≥ M minutes"
    EXECUTIVE_VISIBILITY = "executive_visibility", "Executive visibility"


THRESHOLD_KINDS = (CriterionKind.USERS_AFFECTED, CriterionKind.SERVICE_TIER, CriterionKind.ESTIMATED_DOWNTIME)


class RoleKind(models.TextChoices):
    MIM = "mim", "Major Incident Manager"
    TECHNICAL_LEAD = "technical_lead", "Technical lead"
    SERVICE_OWNER = "service_owner", "Service owner"
    COMMUNICATIONS_LEAD = "communications_lead", "Communications lead"
    VENDOR_OWNER = "vendor_owner", "Vendor owner"
    RECORDER = "recorder", "Recorder"


class EntryKind(models.TextChoices):
    DETECTION = "detection", "Detection"
    DECLARATION = "declaration", "Declaration"
    SEVERITY_CHANGE = "severity_change", "Severity change"
    ROLE_CHANGE = "role_change", "Role change"
    ESCALATION = "escalation", "Escalation"
    DECISION = "decision", "Decision"
    ACTION = "action", "Action"
    COMMUNICATION = "communication", "Communication"
    VENDOR = "vendor", "Vendor"
    RECOVERY = "recovery", "Recovery"
    VALIDATION = "validation", "Validation"
    NOTE = "note", "Note"
    STATE_CHANGE = "state_change", "State change"
    CORRECTION = "correction", "Correction"


# Kinds a person may write by hand; the others are written by the services that own the event.
MANUAL_ENTRY_KINDS = (
    EntryKind.DETECTION,
    EntryKind.ESCALATION,
    EntryKind.DECISION,
    EntryKind.ACTION,
    EntryKind.COMMUNICATION,
    EntryKind.VENDOR,
    EntryKind.RECOVERY,
    EntryKind.VALIDATION,
    EntryKind.NOTE,
    EntryKind.CORRECTION,
)


class UpdateKind(models.TextChoices):
    INITIAL = "initial", "Initial notice"
    PROGRESS = "progress", "Progress"
    RECOVERY = "recovery", "Recovery"
    WORKAROUND = "workaround", "Workaround"
    EXECUTIVE = "executive", "Executive summary"
    CLOSURE = "closure", "Closure"


class Audience(models.TextChoices):
    USERS = "users", "Users"
    BUSINESS = "business", "Business"
    IT_LEADERSHIP = "it_leadership", "IT leadership"
    EXECUTIVES = "executives", "Executives"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    STATUS_PAGE = "status_page", "Status page"
    CHAT = "chat", "Chat"
    BRIDGE = "bridge", "Bridge call"
    INTRANET = "intranet", "Intranet"


class UpdateState(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    SENT = "sent", "Sent"
