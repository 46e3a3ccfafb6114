import django_filters

from measures.models import Membership, Scope


class ScopeFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Scope
        fields = ["kind", "parent", "name"]


class MembershipFilter(django_filters.FilterSet):
    class Meta:
        model = Membership
        fields = ["user", "scope", "role"]
