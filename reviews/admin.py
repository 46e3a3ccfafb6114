"""Admin: the contributing-factor taxonomy is managed here (DESIGN §7). Reviews and actions are
read-only: they change through reviews.services, which check the sign-off rules."""

from django.contrib import admin

from reviews.models import Action, ContributingFactor, FactorCategory, Review, ReviewApproval


@admin.register(FactorCategory)
class FactorCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "active", "position"]
    list_editable = ["active", "position"]
    prepopulated_fields = {"code": ["name"]}

    def has_delete_permission(self, request, obj=None):
        """Deactivate instead: factors already tagged keep their category."""
        return obj is not None and not obj.factors.exists() and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FactorInline(admin.TabularInline):
    model = ContributingFactor
    extra = 0
    can_delete = False
    readonly_fields = ["category", "description", "position"]

    def has_add_permission(self, request, obj=None):
        return False


class ApprovalInline(admin.TabularInline):
    model = ReviewApproval
    extra = 0
    can_delete = False
    readonly_fields = ["revision", "role", "user", "comment", "decided_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["incident", "state", "due_at", "revision", "approved_at"]
    list_filter = ["state"]
    search_fields = ["incident__reference", "incident__title"]
    list_select_related = ["incident"]
    inlines = [FactorInline, ApprovalInline]


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "review",
        "kind",
        "owner",
        "due_date",
        "state",
        "measure",
        "ineffective_incident",
    ]
    list_filter = ["state", "kind", "priority"]
    search_fields = ["title", "review__incident__reference"]
    list_select_related = ["review__incident", "owner", "measure", "ineffective_incident"]
