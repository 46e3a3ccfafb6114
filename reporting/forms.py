from django import forms
from django.contrib.auth import get_user_model

from measures import permissions
from measures.models import Scope
from reporting.models import Frequency, ReportKind


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=[(ReportKind.STEERING_PACK, ReportKind.STEERING_PACK.label)])
    scope = forms.ModelChoiceField(queryset=Scope.objects.none())
    frequency = forms.ChoiceField(choices=Frequency.choices)
    weekday = forms.TypedChoiceField(
        coerce=int,
        initial=1,
        choices=[
            (1, "Monday"),
            (2, "Tuesday"),
            (3, "Wednesday"),
            (4, "Thursday"),
            (5, "Friday"),
            (6, "Saturday"),
            (7, "Sunday"),
        ],  # fmt: skip
        help_text="For weekly schedules.",
    )
    day_of_month = forms.IntegerField(
        min_value=1, max_value=28, initial=1, help_text="1–28, for monthly schedules."
    )
    time = forms.TimeField(initial="07:00", widget=forms.TimeInput(attrs={"type": "time"}))
    recipients = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(), help_text="Each recipient must be able to see the scope."
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].queryset = permissions.visible_scopes(user)
        self.fields["recipients"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
