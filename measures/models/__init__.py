from measures.models.around import Comment, Dependency, Document, Milestone, Risk
from measures.models.audit import AuditCheckpoint, AuditEntry
from measures.models.effects import EffectLine
from measures.models.figures import FigureBasis, FigureDirty, FigureRow, ScopeFigureRow
from measures.models.gates import GateApproval, GateRequest
from measures.models.measure import GATE_TRANSITIONS, Measure
from measures.models.notifications import Notification
from measures.models.scope import Membership, Scope
from measures.models.values import EffectValue, PlanVersion, PlanVersionValue, RebaselineRequest

__all__ = [
    "GATE_TRANSITIONS",
    "AuditCheckpoint",
    "AuditEntry",
    "Comment",
    "Dependency",
    "Document",
    "EffectLine",
    "EffectValue",
    "FigureBasis",
    "FigureDirty",
    "FigureRow",
    "GateApproval",
    "GateRequest",
    "Measure",
    "Membership",
    "Milestone",
    "Notification",
    "PlanVersion",
    "PlanVersionValue",
    "RebaselineRequest",
    "Risk",
    "Scope",
    "ScopeFigureRow",
]
