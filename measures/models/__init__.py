from measures.models.around import Comment, Dependency, Document, Milestone, Risk
from measures.models.audit import AuditEntry
from measures.models.effects import EffectLine
from measures.models.gates import GateApproval, GateRequest
from measures.models.measure import GATE_TRANSITIONS, Measure
from measures.models.notifications import Notification
from measures.models.scope import Membership, Scope

__all__ = [
    "GATE_TRANSITIONS",
    "AuditEntry",
    "Comment",
    "Dependency",
    "Document",
    "EffectLine",
    "GateApproval",
    "GateRequest",
    "Measure",
    "Membership",
    "Milestone",
    "Notification",
    "Risk",
    "Scope",
]
