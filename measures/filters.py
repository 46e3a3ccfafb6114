import django_filters
from django.db.models import Q

from measures.choices import LIGHTS, Stage
from measures.models import (
    Dependency,
    EffectValue,
    GateRequest,
    Measure,
    Membership,
    PlanVersion,
    RebaselineRequest,
    Scope,
)


class ScopeFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Scope
        fields = ["kind", "parent", "name"]


class MembershipFilter(django_filters.FilterSet):
    class Meta:
        model = Membership
        fields = ["user", "scope", "role"]


class MeasureFilter(django_filters.FilterSet):
    """One filter set for the measure list page and `GET /api/v1/measures/`."""

    scope = django_filters.NumberFilter(method="filter_scope", label="Scope (and everything below it)")
    q = django_filters.CharFilter(method="filter_text", label="Code or title contains")
    implementation_status = django_filters.ChoiceFilter(
        field_name="implementation_status", choices=LIGHTS, label="Implementation status"
    )
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)

    class Meta:
        model = Measure
        fields = ["scope", "package", "stage", "owner", "sponsor", "controller", "implementation_status", "q"]

    def filter_scope(self, queryset, name, value):
        scope = Scope.objects.filter(pk=value).only("path").first()
        if scope is None:
            return queryset.none()
        return queryset.filter(package__path__startswith=scope.path)

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(title__icontains=value))


class GateRequestFilter(django_filters.FilterSet):
    class Meta:
        model = GateRequest
        fields = ["measure", "state", "to_doi", "requested_by"]


class DependencyFilter(django_filters.FilterSet):
    measure = django_filters.NumberFilter(method="filter_measure", label="Either end is this measure")

    class Meta:
        model = Dependency
        fields = ["measure", "kind", "source", "target"]

    def filter_measure(self, queryset, name, value):
        return queryset.filter(Q(source_id=value) | Q(target_id=value))


class EffectValueFilter(django_filters.FilterSet):
    """`GET /api/v1/effect-values/`: by measure, line, scope (and below), series, state, month range."""

    scope = django_filters.NumberFilter(method="filter_scope", label="Scope (and everything below it)")
    month_from = django_filters.DateFilter(
        field_name="month", lookup_expr="gte", label="From month (YYYY-MM-01)"
    )
    month_to = django_filters.DateFilter(field_name="month", lookup_expr="lte", label="To month (YYYY-MM-01)")

    class Meta:
        model = EffectValue
        fields = ["measure", "line", "series", "validation_state", "scope", "month_from", "month_to"]

    def filter_scope(self, queryset, name, value):
        scope = Scope.objects.filter(pk=value).only("path").first()
        if scope is None:
            return queryset.none()
        return queryset.filter(measure__package__path__startswith=scope.path)


class RebaselineRequestFilter(django_filters.FilterSet):
    class Meta:
        model = RebaselineRequest
        fields = ["measure", "state"]


class PlanVersionFilter(django_filters.FilterSet):
    class Meta:
        model = PlanVersion
        fields = ["measure", "number"]
