"""Browser forms; they translate input only, the services decide (STYLE §6)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from config.errors import InvalidInput
from measures import permissions
from measures.choices import DependencyKind, DocumentKind, Hardness, Nature, Recurrence, ScopeKind
from measures.models import Measure
from measures.services.effects import parse_amount

User = get_user_model()


def _people():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class MeasureForm(forms.Form):
    title = forms.CharField(max_length=200)
    objective = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label="Objective and starting point"
    )
    package = forms.ModelChoiceField(queryset=None, label="Measure package")
    owner = PersonChoiceField(queryset=None, required=False)
    sponsor = PersonChoiceField(queryset=None, required=False)
    controller = PersonChoiceField(
        queryset=None, required=False, help_text="Must hold the controller role in the measure's scope."
    )
    business_unit = forms.CharField(max_length=120, required=False)
    no_known_risks = forms.BooleanField(required=False, label="Risks considered: none known")
    no_known_overlaps = forms.BooleanField(
        required=False, label="Overlap check done: no overlapping measures"
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, measure: Measure | None = None, **kwargs):
        if measure is not None:
            kwargs.setdefault("initial", self.initial_for(measure))
        super().__init__(*args, **kwargs)
        self.fields["package"].queryset = permissions.visible_scopes(user).filter(kind=ScopeKind.PACKAGE)
        for name in ("owner", "sponsor", "controller"):
            self.fields[name].queryset = _people()
        if measure is not None and not permissions.can_assign_people(user, measure.package):
            for name in ("package", "owner", "sponsor", "controller"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Changed by a program manager of the scope."

    @classmethod
    def initial_for(cls, measure: Measure) -> dict:
        return {
            "title": measure.title,
            "objective": measure.objective,
            "package": measure.package_id,
            "owner": measure.owner_id,
            "sponsor": measure.sponsor_id,
            "controller": measure.controller_id,
            "business_unit": measure.business_unit,
            "no_known_risks": measure.no_known_risks,
            "no_known_overlaps": measure.no_known_overlaps,
            "version": measure.version,
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MilestoneForm(forms.Form):
    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    critical = forms.BooleanField(required=False)


class MilestoneCompleteForm(forms.Form):
    completed_at = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    evidence_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RiskForm(forms.Form):
    title = forms.CharField(max_length=200)
    probability = forms.IntegerField(min_value=1, max_value=5)
    impact = forms.IntegerField(min_value=1, max_value=5)
    mitigation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AmountFormField(forms.DecimalField):
    """An amount typed into a page: the services' rule (`parse_amount`) before Django's Decimal."""

    def to_python(self, value):
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_amount(value)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.details["amount"][0], code="invalid") from exc


class EffectLineForm(forms.Form):
    account = forms.ChoiceField(choices=[])
    recurrence = forms.ChoiceField(choices=Recurrence.choices)
    nature = forms.ChoiceField(choices=Nature.choices)
    hardness = forms.ChoiceField(choices=Hardness.choices)
    annual_potential = AmountFormField(max_digits=16, decimal_places=2, required=False, min_value=0)
    baseline_value = AmountFormField(max_digits=16, decimal_places=2, required=False)
    baseline_definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        from measures.choices import ACCOUNT_LABELS
        from measures.services import effect_accounts

        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (code, ACCOUNT_LABELS.get(code, code)) for code in effect_accounts()
        ]


class DependencyForm(forms.Form):
    target = forms.ModelChoiceField(queryset=None, label="Other measure")
    kind = forms.ChoiceField(choices=DependencyKind.choices)
    share_percent = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="Overlap share %"
    )
    note = forms.CharField(required=False)

    def __init__(self, *args, user, measure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = (
            permissions.visible_measures(user).exclude(pk=measure.pk).order_by("code")
        )


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices)
    file = forms.FileField()


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Comment")
