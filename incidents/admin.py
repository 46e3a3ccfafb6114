"""Admin: configuration (catalog, criteria, policies, templates, distribution lists) is edited
here through the services; incidents themselves are read-only (they change through services)."""

from django.contrib import admin, messages

from config.errors import DomainError
from incidents import services
from incidents.models import (
    DeclarationCriterion,
    DistributionList,
    Incident,
    IncidentRole,
    Service,
    SeverityPolicy,
    StatusUpdateTemplate,
    TimelineEntry,
)


class ThroughServiceAdmin(admin.ModelAdmin):
    save_function = None

    def save_model(self, request, obj, form, change):
        try:
            type(self).save_function(by=request.user, **{self.instance_arg: obj})
        except DomainError as error:
            messages.error(request, error.message)


@admin.register(Service)
class ServiceAdmin(ThroughServiceAdmin):
    list_display = [
        "name",
        "tier",
        "owner",
        "customer_facing",
        "regulated",
        "vendor",
        "cost_per_minute",
        "active",
    ]
    list_filter = ["tier", "customer_facing", "regulated", "active"]
    search_fields = ["name", "business_process", "vendor"]
    save_function = services.service_save
    instance_arg = "service"


@admin.register(DeclarationCriterion)
class CriterionAdmin(ThroughServiceAdmin):
    list_display = ["name", "kind", "threshold", "active"]
    list_filter = ["kind", "active"]
    save_function = services.criterion_save
    instance_arg = "criterion"


@admin.register(SeverityPolicy)
class SeverityPolicyAdmin(admin.ModelAdmin):
    list_display = ["severity", "update_cadence_minutes", "pir_due_business_days"]


@admin.register(DistributionList)
class DistributionListAdmin(admin.ModelAdmin):
    list_display = ["audience", "recipients"]


@admin.register(StatusUpdateTemplate)
class StatusUpdateTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject"]
    readonly_fields = ["kind"]

    def save_model(self, request, obj, form, change):
        try:
            services.template_save(by=request.user, template=obj, subject=obj.subject, body=obj.body)
        except DomainError as error:
            messages.error(request, f"{error.message} {error.details or ''}")

    def has_add_permission(self, request):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RoleInline(ReadOnlyInline):
    model = IncidentRole
    fields = ["role", "user", "assigned_at", "ended_at"]
    readonly_fields = fields


class TimelineInline(ReadOnlyInline):
    model = TimelineEntry
    fk_name = "incident"
    fields = ["occurred_at", "kind", "text", "author", "recorded_at", "pinned"]
    readonly_fields = fields


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-only: the lifecycle, times and timeline change only through the incident page or API."""

    list_display = ["reference", "title", "severity", "state", "reported_at", "restored_at"]
    list_filter = ["state", "severity", "services"]
    search_fields = ["reference", "title"]
    inlines = [RoleInline, TimelineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
