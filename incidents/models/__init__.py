from incidents.models.catalog import (
    DeclarationCriterion,
    DistributionList,
    Service,
    SeverityPolicy,
    StatusUpdateTemplate,
)
from incidents.models.incident import TIME_FIELDS, TIME_LEVELS, Incident, IncidentRole, RecoveryValidation
from incidents.models.timeline import StatusUpdate, TimelineEntry, VendorEscalation

__all__ = [
    "TIME_FIELDS",
    "TIME_LEVELS",
    "DeclarationCriterion",
    "DistributionList",
    "Incident",
    "IncidentRole",
    "RecoveryValidation",
    "Service",
    "SeverityPolicy",
    "StatusUpdate",
    "StatusUpdateTemplate",
    "TimelineEntry",
    "VendorEscalation",
]
