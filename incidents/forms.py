"""Browser forms: shape only; the services decide."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from config.limits import LINE_MAX_CHARS
from incidents.choices import MANUAL_ENTRY_KINDS, Audience, Channel, EntryKind, RoleKind, Severity, UpdateKind
from incidents.models import TIME_FIELDS, RecoveryValidation, Service

User = get_user_model()
DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _dt(required: bool = False, label: str | None = None) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=required, label=label, widget=DT, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )


class PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


def _people():
    return User.objects.filter(is_active=True).order_by("first_name", "username")


class LogIncidentForm(forms.Form):
    """The fast form: a title and a service are enough; the rest sharpens the criteria."""

    title = forms.CharField(
        max_length=LINE_MAX_CHARS,
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "What is broken, for whom"}),
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.filter(active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int, initial=Severity.SEV2)
    users_affected = forms.IntegerField(min_value=0, required=False)
    estimated_downtime_minutes = forms.IntegerField(
        min_value=0, required=False, label="Estimated downtime (minutes)"
    )
    revenue_impact = forms.BooleanField(required=False, label="Revenue, production or operational impact")
    regulatory_risk = forms.BooleanField(required=False, label="Regulatory, security or data risk")
    executive_visibility = forms.BooleanField(required=False, label="Executive visibility")
    impact_started_at = _dt(label="Impact started (if earlier)")
    detected_at = _dt(label="Detected (if earlier)")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def criteria_input(self) -> dict:
        data = self.cleaned_data
        return {
            "services": data.get("services") or [],
            "users_affected": data.get("users_affected"),
            "estimated_downtime_minutes": data.get("estimated_downtime_minutes"),
            "revenue_impact": bool(data.get("revenue_impact")),
            "regulatory_risk": bool(data.get("regulatory_risk")),
            "executive_visibility": bool(data.get("executive_visibility")),
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "Reason"}))
    at = _dt(label="When (default now)")


class SeverityForm(forms.Form):
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int)
    reason = forms.CharField(required=False)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=RoleKind.choices)
    user = PersonField(queryset=_people())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _people()


class TimelineEntryForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(k, EntryKind(k).label) for k in MANUAL_ENTRY_KINDS], initial=EntryKind.NOTE
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    occurred_at = _dt(label="Occurred at (default now)")
    rationale = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Decisions: why"
    )
    alternatives = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Decisions: what else was considered",
    )
    decided_by = PersonField(queryset=_people(), required=False)
    corrects = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decided_by"].queryset = _people()


class StatusUpdateForm(forms.Form):
    kind = forms.ChoiceField(choices=UpdateKind.choices)
    audience = forms.ChoiceField(choices=Audience.choices)
    channel = forms.ChoiceField(choices=Channel.choices)
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    affected_service = forms.CharField(max_length=300)
    business_impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    current_status = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    workaround = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    decisions_needed = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    next_update_due_at = _dt(label="Next update due")
    requires_approval = forms.BooleanField(required=False, label="Needs approval before sending")


class VendorEscalationForm(forms.Form):
    vendor = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "Vendor"}))
    reference = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Their ticket reference"}),
    )
    contacted_at = _dt(label="Contacted at (default now)")
    notes = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "Notes"}))


_YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]


class ValidationForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, question in RecoveryValidation.QUESTIONS.items():
            self.fields[name] = forms.TypedChoiceField(
                choices=_YES_NO, required=False, label=question,
                coerce=lambda v: {"true": True, "false": False}.get(v), empty_value=None,
            )  # fmt: skip
        self.fields["residual_risks"] = forms.CharField(
            required=False, widget=forms.Textarea(attrs={"rows": 2})
        )
        self.fields["business_confirmed_by"] = forms.CharField(
            required=False, label="Business confirmation by (name)"
        )


class TimesForm(forms.Form):
    reason = forms.CharField(required=False, help_text="Why the times change (kept on the timeline)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in TIME_FIELDS:
            self.fields[name] = _dt(required=name in ("impact_started_at", "detected_at", "reported_at"),
                                    label=name.removesuffix("_at").replace("_", " ").capitalize())  # fmt: skip


class MetricsFilterForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False)
    severity = forms.TypedChoiceField(
        choices=[("", "Any"), *Severity.choices], coerce=int, required=False, empty_value=None
    )
