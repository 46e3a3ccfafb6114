"""State changes of major incidents (DESIGN §6). Views, the API, admin, the import command and
the demo call these; each checks permission itself, locks what it changes, writes the timeline in
the same transaction and defers e-mail and signals until the transaction commits.

Split by concept (STYLE 18); callers use `from incidents import services` and `services.<name>`."""

from incidents.services._common import check_time_order
from incidents.services.catalog import criterion_save, service_save, template_save
from incidents.services.imports import incidents_import
from incidents.services.lifecycle import (
    EDITABLE_FIELDS,
    incident_acknowledge,
    incident_cancel,
    incident_close,
    incident_declare,
    incident_log,
    incident_mark_not_major,
    incident_reopen,
    incident_restore,
    incident_severity_change,
    incident_team_assembled,
    incident_update,
    incident_validate,
)
from incidents.services.response import (
    recovery_validation_save,
    role_assign,
    role_release,
    status_update_approve,
    status_update_create,
    timeline_entry_add,
    timeline_entry_pin,
    vendor_escalation_add,
    vendor_escalation_responded,
)

__all__ = [
    "EDITABLE_FIELDS",
    "check_time_order",
    "criterion_save",
    "incident_acknowledge",
    "incident_cancel",
    "incident_close",
    "incident_declare",
    "incident_log",
    "incident_mark_not_major",
    "incident_reopen",
    "incident_restore",
    "incident_severity_change",
    "incident_team_assembled",
    "incident_update",
    "incident_validate",
    "incidents_import",
    "recovery_validation_save",
    "role_assign",
    "role_release",
    "service_save",
    "status_update_approve",
    "status_update_create",
    "template_save",
    "timeline_entry_add",
    "timeline_entry_pin",
    "vendor_escalation_add",
    "vendor_escalation_responded",
]
