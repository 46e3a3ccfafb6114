"""`manage.py verify_audit`: check the audit chain against its checkpoints (ADR 0004, ADR 0015); exit 1
naming what is wrong, else write a checkpoint of what was verified."""

from django.core.management.base import BaseCommand, CommandError

from measures.services.audit import AuditTampered, audit_check, audit_checkpoint, checkpoint_time


class Command(BaseCommand):
    help = (
        "Verify the hash chain of the governance audit log against its checkpoints, then write a "
        "checkpoint (DESIGN §5.1, ADR 0004, ADR 0015)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="Only verify; write nothing (a read-only replica, a restored copy kept as evidence).",
        )

    def handle(self, *args, **options) -> None:
        check = audit_check()
        if check.problem is not None:
            raise CommandError(f"Audit log tampered: {check.problem}.")
        anchored = (
            f"anchored by checkpoint of {checkpoint_time(check.anchor)}"
            if check.anchor is not None
            else "no checkpoint to anchor them yet"
        )
        self.stdout.write(self.style.SUCCESS(f"Audit log intact: {check.rows} rows verified, {anchored}."))
        if options["no_checkpoint"]:
            return
        try:
            checkpoint = audit_checkpoint()
        except AuditTampered as tampered:  # changed between the walk and the checkpoint
            raise CommandError(f"Audit log tampered: {tampered.problem}.") from tampered
        ending = f" ending at id {checkpoint.last_id}" if checkpoint.last_id is not None else ""
        self.stdout.write(
            f"Checkpoint of {checkpoint_time(checkpoint)}: {checkpoint.row_count} rows{ending}, "
            f"head {checkpoint.head_hash}, mac {checkpoint.mac}."
        )
