"""`manage.py flush` that may empty the audit tables (ADR 0015).

The audit log and its checkpoints refuse TRUNCATE; Django's flush (which the test suite runs after
every transactional test) truncates every table in one statement. Whoever can run a management
command already holds the database credentials and the SECRET_KEY, so letting this command, and only
this command, through the refusal protects nothing less (ADR 0015, "Threat model")."""

import pgtrigger
from django.core.management.commands import flush


class Command(flush.Command):
    def handle(self, **options) -> None:
        with pgtrigger.ignore("measures.AuditEntry:no_truncate", "measures.AuditCheckpoint:no_truncate"):
            super().handle(**options)
