"""Notifications: an inbox row where someone must act, and an e-mail sent after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from measures.models import Measure, Notification


def email_after_commit(*, users: Iterable, subject: str, body: str) -> None:
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
