"""`uv run manage.py demo`: migrate, load the demo data once, print the logins, serve."""

from __future__ import annotations

import importlib
import importlib.util

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import override_settings

from readcache.services import compact_changes

# Each app may provide `<app>/demo.py` with an idempotent `load(stdout)`; order matters.
DEMO_MODULES = ["measures.demo", "incidents.demo", "reviews.demo", "reporting.demo"]
DEMO_LOCK = 7_201_001  # pg advisory lock key: two concurrent `demo` runs load one after the other


class Command(BaseCommand):
    help = "Prepare the database, load demo data (idempotent), print demo logins and serve the app."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-serve", action="store_true", help="Load the data and exit.")

    def handle(self, *args, port: int, host: str, no_serve: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        # The demo's notifications are not real mail: keep them off the console while loading.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
            transaction.atomic(),
        ):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEMO_LOCK])
            for name in DEMO_MODULES:
                if importlib.util.find_spec(name) is None:
                    continue
                importlib.import_module(name).load(stdout=self.stdout)
            # The demo runs no beat: fold the load's change rows in the same transaction, so the
            # read cache's data version stays a read of a few rows (ADR 0014).
            compact_changes()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self._print_logins()
        if not no_serve:
            self.stdout.write(f"Serving on http://{host}:{port}/ — press Ctrl+C to stop.")
            call_command("runserver", f"{host}:{port}", use_reloader=False, skip_checks=True)

    def _print_logins(self) -> None:
        from measures.demo import logins

        self.stdout.write("\nDemo logins (username / password — role):")
        for username, password, role in logins():
            self.stdout.write(f"  {username:<11} / {password} — {role}")
        self.stdout.write("")
