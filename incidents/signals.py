"""Events other apps subscribe to without `incidents` importing them (DESIGN §2 dependency rule).

Both are sent after the transaction commits, with `incident_id` (an int) and `by` (the user).
`reviews` connects to `incident_restored` to open the PIR (DESIGN §7).
"""

from django.dispatch import Signal

incident_restored = Signal()
incident_closed = Signal()
