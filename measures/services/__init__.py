"""State changes of the governance core (STYLE §2). Views, viewsets, admin, tasks, commands and
tests call these functions; each checks permission, runs in a transaction, writes the audit row and
defers e-mails until commit. `from measures import services` gives every one of them."""

from measures.services.around import (
    comment_create,
    dependency_create,
    dependency_delete,
    document_delete,
    document_upload,
    effect_accounts,
    effect_line_create,
    effect_line_delete,
    effect_line_update,
    milestone_complete,
    milestone_create,
    milestone_delete,
    milestone_update,
    risk_create,
    risk_delete,
    risk_update,
)
from measures.services.audit import audit_append, audit_verify
from measures.services.gates import (
    gate_request_approve,
    gate_request_can_decide,
    gate_request_reject,
    gate_request_submit,
)
from measures.services.measures import (
    measure_cancel,
    measure_create,
    measure_hold,
    measure_resume,
    measure_status_override,
    measure_update,
)
from measures.services.scopes import (
    check_scope_placement,
    membership_create,
    membership_delete,
    scope_create,
    scope_update,
    user_create,
    user_deactivate,
)

__all__ = [
    "audit_append",
    "audit_verify",
    "check_scope_placement",
    "comment_create",
    "dependency_create",
    "dependency_delete",
    "document_delete",
    "document_upload",
    "effect_accounts",
    "effect_line_create",
    "effect_line_delete",
    "effect_line_update",
    "gate_request_approve",
    "gate_request_can_decide",
    "gate_request_reject",
    "gate_request_submit",
    "measure_cancel",
    "measure_create",
    "measure_hold",
    "measure_resume",
    "measure_status_override",
    "measure_update",
    "membership_create",
    "membership_delete",
    "milestone_complete",
    "milestone_create",
    "milestone_delete",
    "milestone_update",
    "risk_create",
    "risk_delete",
    "risk_update",
    "scope_create",
    "scope_update",
    "user_create",
    "user_deactivate",
]
