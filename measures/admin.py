from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from config.errors import DomainError
from measures import services
from measures.models import (
    AuditEntry,
    EffectValue,
    GateRequest,
    Measure,
    Membership,
    PlanVersion,
    RebaselineRequest,
    Scope,
)


class ScopeAdminForm(forms.ModelForm):
    class Meta:
        model = Scope
        fields = [
            "name",
            "kind",
            "parent",
            "description",
            "milestone_red_days",
            "potential_tolerance_percent",
            "leakage_percent",
        ]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind") or self.instance.kind
        try:
            services.check_scope_placement(
                kind=kind, parent=cleaned.get("parent"), scope=self.instance if self.instance.pk else None
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        return cleaned


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    form = ScopeAdminForm
    list_display = ["name", "kind", "parent", "path"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["path"]
    fields = [
        "name",
        "kind",
        "parent",
        "description",
        "milestone_red_days",
        "potential_tolerance_percent",
        "leakage_percent",
        "path",
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["path", "kind"] if obj else ["path"]

    def save_model(self, request, obj, form, change) -> None:
        # Path maintenance lives in the services; the form has already checked placement.
        if change:
            services.scope_update(
                scope=obj,
                by=request.user,
                name=obj.name,
                description=obj.description,
                milestone_red_days=obj.milestone_red_days,
                potential_tolerance_percent=obj.potential_tolerance_percent,
                leakage_percent=obj.leakage_percent,
                parent=obj.parent,
                move="parent" in form.changed_data,
            )
        else:
            created = services.scope_create(
                name=obj.name, kind=obj.kind, parent=obj.parent, by=request.user, description=obj.description
            )
            obj.pk = created.pk


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "scope"]
    list_filter = ["role"]
    search_fields = ["user__username", "scope__name"]
    autocomplete_fields = ["user", "scope"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Governed records change only through `measures.services` (permission, four-eyes, audit);
    the admin shows them but does not edit them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Measure)
class MeasureAdmin(ReadOnlyAdmin):
    list_display = ["code", "title", "stage", "package", "owner", "version"]
    list_filter = ["stage"]
    search_fields = ["code", "title"]


@admin.register(GateRequest)
class GateRequestAdmin(ReadOnlyAdmin):
    list_display = ["measure", "from_doi", "to_doi", "state", "requested_by", "requested_at"]
    list_filter = ["state", "to_doi"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "actor_name", "action", "subject_type", "subject_id", "measure_id"]
    list_filter = ["action"]


@admin.register(EffectValue)
class EffectValueAdmin(ReadOnlyAdmin):
    list_display = ["measure", "line", "month", "series", "amount", "validation_state"]
    list_filter = ["series", "validation_state"]
    search_fields = ["measure__code"]


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    list_display = ["measure", "number", "created_by", "created_at"]
    search_fields = ["measure__code"]


@admin.register(RebaselineRequest)
class RebaselineRequestAdmin(ReadOnlyAdmin):
    list_display = ["measure", "state", "requested_by", "requested_at", "decided_by"]
    list_filter = ["state"]
