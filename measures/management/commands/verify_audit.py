"""`manage.py verify_audit`: recompute the audit hash chain; exit 1 naming the first bad row."""

from django.core.management.base import BaseCommand, CommandError

from measures import services
from measures.models import AuditEntry


class Command(BaseCommand):
    help = "Verify the hash chain of the governance audit log (DESIGN §5.1, ADR 0004)."

    def handle(self, *args, **options) -> None:
        problem = services.audit_verify()
        if problem is not None:
            raise CommandError(f"Audit log tampered: row {problem.entry_id} — {problem.reason}.")
        self.stdout.write(
            self.style.SUCCESS(f"Audit log intact: {AuditEntry.objects.count()} rows verified.")
        )
