"""One FilterSet per list, used by both the browser pages and the API (STYLE 1)."""

import django_filters
from django.db.models import Q

from incidents.choices import EntryKind, IncidentState, Severity
from incidents.models import (
    DeclarationCriterion,
    Incident,
    Service,
    StatusUpdate,
    TimelineEntry,
    VendorEscalation,
)


class IncidentFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=IncidentState.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    service = django_filters.ModelChoiceFilter(
        field_name="services", queryset=Service.objects.all(), label="Service"
    )
    reported_from = django_filters.DateFilter(field_name="reported_at", lookup_expr="date__gte", label="From")
    reported_to = django_filters.DateFilter(field_name="reported_at", lookup_expr="date__lte", label="To")
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Incident
        fields = ["state", "severity", "service", "reported_from", "reported_to", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(reference__icontains=value) | Q(title__icontains=value))


class ServiceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Service
        fields = ["name", "tier", "customer_facing", "regulated", "active"]


class CriterionFilter(django_filters.FilterSet):
    class Meta:
        model = DeclarationCriterion
        fields = ["kind", "active"]


class TimelineEntryFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=EntryKind.choices)

    class Meta:
        model = TimelineEntry
        fields = ["incident", "kind", "pinned"]


class StatusUpdateFilter(django_filters.FilterSet):
    class Meta:
        model = StatusUpdate
        fields = ["incident", "kind", "audience", "state"]


class VendorEscalationFilter(django_filters.FilterSet):
    class Meta:
        model = VendorEscalation
        fields = ["incident", "vendor"]
