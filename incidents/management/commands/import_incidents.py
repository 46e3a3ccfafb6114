"""`manage.py import_incidents FILE [--user NAME]`: import a JSON list of incidents, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.errors import DomainError
from incidents import services


class Command(BaseCommand):
    help = "Import major incidents with their times from a JSON list (all rows or none)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--user", help="Who imports (an incident manager or admin); default: a superuser."
        )

    def handle(self, *args, file: Path, user: str | None = None, **options) -> None:
        try:
            rows = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        by = self._user(user)
        try:
            created = services.incidents_import(by=by, rows=rows, source=file.name)
        except DomainError as exc:
            lines = [exc.message]
            for problem in (exc.details or {}).get("rows", []) if isinstance(exc.details, dict) else []:
                for field, messages in problem["errors"].items():
                    lines.append(f"  row {problem['row']}: {field}: {' '.join(messages)}")
            raise CommandError("\n".join(lines)) from exc
        for row in created:
            self.stdout.write(f"created {row['reference']} ({row['state']})")
        self.stdout.write(self.style.SUCCESS(f"Imported {len(created)} incidents."))

    def _user(self, username: str | None):
        users = get_user_model().objects.filter(is_active=True)
        found = (
            users.filter(username=username).first() if username else users.filter(is_superuser=True).first()
        )
        if found is None:
            raise CommandError(
                f"No active user '{username}'." if username else "Give --user (no superuser found)."
            )
        return found
