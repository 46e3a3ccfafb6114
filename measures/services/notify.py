"""Notifications: an inbox row where someone must act, and an e-mail sent after commit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from measures.models import Measure, Notification

_emails_suppressed: ContextVar[bool] = ContextVar("valuegate_emails_suppressed", default=False)


@contextlib.contextmanager
def emails_suppressed() -> Iterator[None]:
    """Build history without mailing anyone (the demo loader replays months of approvals)."""
    token = _emails_suppressed.set(True)
    try:
        yield
    finally:
        _emails_suppressed.reset(token)


def email_after_commit(*, users: Iterable, subject: str, body: str) -> None:
    if _emails_suppressed.get():
        return
    recipients = sorted({user.email for user in users if user is not None and user.email})
    if not recipients:
        return

    def send() -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True)

    transaction.on_commit(send)


def notification_create(
    *, user, kind: str, measure: Measure, message: str, gate_request=None
) -> Notification:
    return Notification.objects.create(
        user=user, kind=kind, measure=measure, gate_request=gate_request, message=message
    )


def notifications_resolve(*, measure: Measure, kinds: Iterable[str]) -> None:
    Notification.objects.filter(measure=measure, kind__in=list(kinds), resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
