"""Browser forms of the PIR pages; they check shape only, the rules live in reviews.services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from measures import permissions as measure_permissions
from measures.choices import ScopeKind, ScopeRole
from measures.models import Scope
from reviews.choices import ActionKind, Priority
from reviews.models import SECTIONS, FactorCategory

_HELP = {
    "summary": "What happened, in a few sentences. Describe conditions and decisions, not people.",
    "business_impact": "Who and what was affected, for how long, and what it cost the business.",
    "detection_notes": "Read the computed timing beside this form; say what helped or delayed detection and escalation.",
    "communication_notes": "Read the computed cadence adherence; say what worked in the updates and what did not.",
    "worked_well": "",
    "went_wrong": "What failed or slowed the response (blameless: systems, information, process).",
    "lessons": "",
}


class SectionsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in SECTIONS.items():
            self.fields[name] = forms.CharField(
                label=label, required=False, help_text=_HELP[name], widget=forms.Textarea(attrs={"rows": 4})
            )


class FactorForm(forms.Form):
    category = forms.ModelChoiceField(queryset=FactorCategory.objects.filter(active=True), label="Category")
    description = forms.CharField(
        label="Contributing factor", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="A condition that contributed, never a person.",
    )  # fmt: skip


class ActionForm(forms.Form):
    kind = forms.ChoiceField(choices=ActionKind.choices)
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username")
    )
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)


def creatable_packages(user):
    """Measure packages where `user` may create measures (measures' own rule)."""
    packages = Scope.objects.filter(kind=ScopeKind.PACKAGE).order_by("path")
    if measure_permissions.is_admin(user):
        return packages
    return packages.filter(
        measure_permissions.scope_filter(user, roles=[ScopeRole.PROGRAM_MANAGER, ScopeRole.CONTRIBUTOR])
    )


class PromoteForm(forms.Form):
    package = forms.ModelChoiceField(queryset=Scope.objects.none(), label="Measure package")
    title = forms.CharField(max_length=200, required=False, help_text="Defaults to the action's title.")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].queryset = creatable_packages(user)


class LinkForm(forms.Form):
    code = forms.CharField(label="Measure code", max_length=20, help_text="For example M-00012.")


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class RationaleForm(forms.Form):
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
