"""One FilterSet per list, used by both the browser pages and the API (STYLE 1)."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from reviews.choices import ACTION_OPEN_STATES, OPEN_STATES, ActionKind, ActionState, Priority, ReviewState
from reviews.models import Action, ContributingFactor, Review

SHOW = [
    ("due", "Due (draft or in review)"),
    ("overdue", "Overdue"),
    ("approved", "Approved or published"),
    ("waived", "Waived"),
]


class ReviewFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ReviewState.choices)
    show = django_filters.ChoiceFilter(choices=SHOW, method="filter_show", label="Show")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue")
    ineffective = django_filters.BooleanFilter(method="filter_ineffective", label="Has an ineffective action")
    due_from = django_filters.DateFilter(field_name="due_at", lookup_expr="date__gte", label="Due from")
    due_to = django_filters.DateFilter(field_name="due_at", lookup_expr="date__lte", label="Due to")
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Review
        fields = ["state", "show", "incident", "overdue", "ineffective", "due_from", "due_to", "q"]

    def filter_show(self, queryset, name, value):
        now = timezone.now()
        return {
            "due": lambda: queryset.filter(state__in=OPEN_STATES),
            "overdue": lambda: queryset.filter(
                state__in=OPEN_STATES, due_at__lt=now, first_approved_at__isnull=True
            ),
            "approved": lambda: queryset.filter(state__in=[ReviewState.APPROVED, ReviewState.PUBLISHED]),
            "waived": lambda: queryset.filter(state=ReviewState.WAIVED),
        }[value]()

    def filter_overdue(self, queryset, name, value):
        late = Q(state__in=OPEN_STATES, due_at__lt=timezone.now(), first_approved_at__isnull=True)
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_ineffective(self, queryset, name, value):
        return (
            queryset.filter(ineffective_actions__gt=0)
            if value
            else queryset.exclude(ineffective_actions__gt=0)
        )

    def search(self, queryset, name, value):
        return queryset.filter(Q(incident__reference__icontains=value) | Q(incident__title__icontains=value))


class ActionFilter(django_filters.FilterSet):
    """`state` filters the effective state (an action linked to a measure follows its DoI)."""

    state = django_filters.MultipleChoiceFilter(choices=ActionState.choices, field_name="effective_state")
    kind = django_filters.MultipleChoiceFilter(choices=ActionKind.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.filter(is_active=True))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue")
    promoted = django_filters.BooleanFilter(field_name="promoted_at", lookup_expr="isnull", exclude=True)
    has_measure = django_filters.BooleanFilter(field_name="measure", lookup_expr="isnull", exclude=True)
    ineffective = django_filters.BooleanFilter(
        field_name="ineffective_incident", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Action
        fields = [
            "review",
            "state",
            "kind",
            "priority",
            "owner",
            "measure",
            "overdue",
            "promoted",
            "has_measure",
            "ineffective",
        ]

    def filter_overdue(self, queryset, name, value):
        late = Q(due_date__lt=timezone.localdate(), effective_state__in=[s.value for s in ACTION_OPEN_STATES])
        return queryset.filter(late) if value else queryset.exclude(late)


class FactorFilter(django_filters.FilterSet):
    class Meta:
        model = ContributingFactor
        fields = ["review", "category"]
