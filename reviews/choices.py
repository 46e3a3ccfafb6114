"""Enumerations of post-incident reviews and their actions (DESIGN §7)."""

from django.db import models


class ReviewState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    WAIVED = "waived", "Waived"


# A PIR in one of these states lets its incident close (DESIGN §7, issue 6).
SETTLED_STATES = (ReviewState.APPROVED, ReviewState.PUBLISHED, ReviewState.WAIVED)
COMPLETED_STATES = (ReviewState.APPROVED, ReviewState.PUBLISHED)
OPEN_STATES = (ReviewState.DRAFT, ReviewState.IN_REVIEW)


class ApprovalRole(models.TextChoices):
    """The two sign-offs a PIR needs, from two different people (DESIGN §7)."""

    SERVICE_OWNER = "service_owner", "Service owner"
    MIM = "mim", "Major Incident Manager"


class ActionKind(models.TextChoices):
    CORRECTIVE = "corrective", "Corrective"
    PREVENTIVE = "preventive", "Preventive"
    DETECTIVE = "detective", "Detective"


class ActionState(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


ACTION_OPEN_STATES = (ActionState.PROPOSED, ActionState.ACCEPTED, ActionState.IN_PROGRESS)


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# The contributing-factor taxonomy of DESIGN §7 (code, name, description). Migration 0002 seeds its
# own copy; the demo re-seeds missing rows (transactional tests flush migration data).
DEFAULT_CATEGORIES = [
    ("change", "Change", "A change or release introduced or triggered the failure."),
    ("capacity", "Capacity", "Load exceeded what the service or its dependencies could carry."),
    ("software_defect", "Software defect", "A defect in code shipped by us or a supplier."),
    ("configuration", "Configuration", "A setting, certificate, rule or parameter was wrong or expired."),
    ("vendor", "Vendor", "A supplier's service or product failed or responded slowly."),
    ("network", "Network", "Connectivity, DNS, load balancing or routing."),
    ("security", "Security", "An attack, a security control or a vulnerability response."),
    ("process", "Process", "A way of working, hand-over or runbook did not hold."),
    ("unknown", "Unknown", "The cause is not established yet."),
]
