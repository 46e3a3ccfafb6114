"""Read queries of the governance core (STYLE §3). `from measures import selectors` gives them all."""

from measures.selectors.gates import gate_checklist, gate_unmet, overlapping_measures
from measures.selectors.measures import (
    Inbox,
    gate_request_list,
    implementation_status,
    inbox,
    measure_detail,
    measure_history,
    measure_list,
    pending_approvals_for,
    potential_status,
    with_implementation_status,
)
from measures.selectors.scopes import ScopeNode, scope_list, scope_tree

__all__ = [
    "Inbox",
    "ScopeNode",
    "gate_checklist",
    "gate_request_list",
    "gate_unmet",
    "implementation_status",
    "inbox",
    "measure_detail",
    "measure_history",
    "measure_list",
    "overlapping_measures",
    "pending_approvals_for",
    "potential_status",
    "scope_list",
    "scope_tree",
    "with_implementation_status",
]
