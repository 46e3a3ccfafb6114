from django.contrib import admin

from reporting.models import ReportRun, ReportSchedule, Snapshot


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "status", "requested_by", "created_at", "finished_at", "pages"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ReportRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # runs are requested through the reports page or the API


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    """Read and switch off schedules here; creating one goes through the reports page, which
    checks that every recipient may see the scope."""

    list_display = ["name", "kind", "scope", "frequency", "time", "active", "created_by"]
    list_filter = ["kind", "frequency", "active"]
    readonly_fields = ["kind", "scope", "frequency", "weekday", "day_of_month", "time", "recipients", "created_by",
                       "periodic_task"]  # fmt: skip
    fields = ["name", "active", *readonly_fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["scope", "taken_on", "taken_at"]
    list_filter = ["taken_on"]
    readonly_fields = ["scope", "taken_on", "figures", "taken_at"]
