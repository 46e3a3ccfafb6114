"""Events other apps subscribe to without `incidents` importing them (DESIGN §2 dependency rule).

Both carry `incident_id` (an int) and `by` (the user).

- `incident_restored` is sent inside the transaction that restores the incident: `reviews` opens
  the PIR there (DESIGN §7), and a receiver that raises rolls the restoration back with it.
- `incident_closed` is sent after the transaction commits: for side effects only (notifications),
  never for rows that must change together with the incident.
"""

from django.dispatch import Signal

incident_restored = Signal()
incident_closed = Signal()
