"""Configuration changed through services: services catalog, declaration criteria, update templates."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.template import Context, Template

from config.errors import Conflict, InvalidInput, PermissionRefused
from config.limits import LINE_MAX_CHARS, check_text_lengths
from incidents import permissions
from incidents.models import DeclarationCriterion, Service, StatusUpdateTemplate

User = AbstractBaseUser


# --- Catalog (seed step 1) ---------------------------------------------------------------------


def _save_config(model: type[Model], instance: Model | None, by: User, fields: dict[str, Any]) -> Model:
    if not permissions.can_configure(by):
        raise PermissionRefused("Only incident managers and admins may change the incident configuration.")
    check_text_lengths(fields, limits=dict.fromkeys(("name", "business_process", "vendor"), LINE_MAX_CHARS))
    instance = instance or model()
    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        with transaction.atomic():
            instance.full_clean()
            instance.save()
    except IntegrityError as exc:
        raise Conflict(f"This {model._meta.verbose_name} conflicts with an existing one.") from exc
    return instance


def service_save(*, by: User, service: Service | None = None, **fields: Any) -> Service:
    """Create or change a catalog service (DESIGN §6)."""
    return _save_config(Service, service, by, fields)


def criterion_save(
    *, by: User, criterion: DeclarationCriterion | None = None, **fields: Any
) -> DeclarationCriterion:
    """Create or change a declaration criterion; thresholded kinds need a threshold."""
    return _save_config(DeclarationCriterion, criterion, by, fields)


def template_save(
    *, by: User, template: StatusUpdateTemplate, subject: str, body: str
) -> StatusUpdateTemplate:
    """Admins edit the texts updates start from; a template that does not render is refused."""
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins edit status update templates.")
    check_text_lengths({"subject": subject, "body": body}, limits={"subject": 300})
    try:
        Template(body).render(Context({}))
        Template(subject).render(Context({}))
    except Exception as exc:
        raise InvalidInput("The template does not render.", details={"body": [str(exc)]}) from exc
    template.subject, template.body = subject, body
    template.save()
    return template
