"""Serializers of the financial-effects API (DESIGN §9 field names; money as decimal strings)."""

from __future__ import annotations

from rest_framework import serializers

from config.errors import InvalidInput
from measures.choices import LIGHTS, RebaselineState, Series, ValidationState
from measures.models import EffectLine, EffectValue, PlanVersion, RebaselineRequest
from measures.services.effects import parse_amount

MONEY = {"max_digits": 18, "decimal_places": 2}


class AmountField(serializers.DecimalField):
    """An amount typed by a client: the services' rule (`parse_amount`: ASCII digits, finite, in
    range) applies before DRF's Decimal, which would also read "١٢٣" or "1_000"."""

    def __init__(self, **kwargs):
        super().__init__(**{**MONEY, **kwargs})

    def to_internal_value(self, data):
        if self.allow_null and isinstance(data, str) and not data.strip():
            return None
        try:
            return parse_amount(data)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.details["amount"]) from exc


class EffectValueSerializer(serializers.ModelSerializer):
    measure = serializers.IntegerField(source="measure_id", read_only=True)
    validation_state = serializers.ChoiceField(
        choices=ValidationState.choices, read_only=True, allow_blank=True
    )

    class Meta:
        model = EffectValue
        fields = [
            "id",
            "line",
            "measure",
            "month",
            "series",
            "amount",
            "validation_state",
            "entered_by",
            "submitted_at",
            "validated_by",
            "validated_at",
            "validation_comment",
            "updated_at",
        ]
        read_only_fields = fields


class EffectValueCreateSerializer(serializers.Serializer):
    line = serializers.PrimaryKeyRelatedField(queryset=EffectLine.objects.all())
    month = serializers.CharField(help_text="YYYY-MM or YYYY-MM-01.")
    series = serializers.ChoiceField(choices=Series.choices)
    amount = AmountField()


class EffectValueUpdateSerializer(serializers.Serializer):
    amount = AmountField()


class GridCellSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    month = serializers.CharField(help_text="YYYY-MM or YYYY-MM-01.")
    amount = AmountField(allow_null=True, help_text="null removes the value.")


class EffectGridSerializer(serializers.Serializer):
    series = serializers.ChoiceField(choices=Series.choices)
    cells = GridCellSerializer(many=True)


class GridSavedSerializer(serializers.Serializer):
    saved = serializers.IntegerField()


class DecisionCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class EffectImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with the columns line, month, series, amount.")
    dry_run = serializers.BooleanField(default=True)


class EffectImportRowSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="Row number in the file (the header is row 1).")
    line = serializers.IntegerField(allow_null=True)
    account = serializers.CharField()
    month = serializers.DateField(allow_null=True)
    series = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, allow_null=True)
    errors = serializers.ListField(child=serializers.CharField())


class EffectImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField()
    saved = serializers.IntegerField()
    rows = EffectImportRowSerializer(many=True)


class SubmittedSerializer(serializers.Serializer):
    submitted = serializers.IntegerField()


class ShortfallReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


# --- Figures ---------------------------------------------------------------------------------


class MoneySerializer(serializers.Serializer):
    recurring = serializers.DecimalField(**MONEY)
    one_time = serializers.DecimalField(**MONEY)


class LightSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=LIGHTS, help_text="Shown colour: the override, else the computed one."
    )
    computed = serializers.ChoiceField(choices=LIGHTS)
    reason = serializers.CharField()
    override = serializers.CharField(allow_blank=True)
    override_comment = serializers.CharField(allow_blank=True)


class FiscalYearSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    label = serializers.CharField()


class _FiguresBase(serializers.Serializer):
    fiscal_year = FiscalYearSerializer()
    target = MoneySerializer()
    plan = MoneySerializer()
    forecast = MoneySerializer()
    actual = MoneySerializer(help_text="Validated actuals only.")
    estimate = MoneySerializer(help_text="Per line and month: validated actual, else forecast, else plan.")
    in_year = MoneySerializer(help_text="Estimate over the current fiscal year.")
    plan_in_year = MoneySerializer()
    cost_to_achieve = MoneySerializer()
    net = MoneySerializer(help_text="Estimate of benefits less costs to achieve.")
    gap = MoneySerializer(help_text="Target less estimate.")
    committed = MoneySerializer(help_text="Plan of measures at DoI 3 or beyond.")
    pipeline = MoneySerializer(help_text="Plan weighted by the stage weight of its DoI.")
    value_at_risk = MoneySerializer(
        help_text="(Plan − forecast)⁺ of measures with an amber or red potential light."
    )
    run_rate = serializers.DecimalField(**MONEY, help_text="Recurring benefits, per year.")
    planned_run_rate = serializers.DecimalField(**MONEY)


class MeasureFiguresSerializer(_FiguresBase):
    measure_id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    doi = serializers.IntegerField()
    stage = serializers.CharField()
    exit_run_rate = serializers.DecimalField(**MONEY)
    validated_run_rate = serializers.DecimalField(**MONEY, allow_null=True)
    closed_run_rate = serializers.DecimalField(**MONEY, allow_null=True)
    implementation = LightSerializer()
    potential = LightSerializer()
    leakage = serializers.BooleanField()
    leakage_reason = serializers.CharField(allow_blank=True)


class ScopeFiguresSerializer(_FiguresBase):
    scope_id = serializers.IntegerField(allow_null=True)
    measure_count = serializers.IntegerField()
    count_by_doi = serializers.DictField(child=serializers.IntegerField())
    on_hold = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    red_count = serializers.IntegerField()
    leakage_count = serializers.IntegerField()


# --- Plan versions and re-baselines ---------------------------------------------------------------


class PlanCellSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="line_id")
    month = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)


class PlanVersionSerializer(serializers.ModelSerializer):
    values = PlanCellSerializer(many=True, read_only=True)

    class Meta:
        model = PlanVersion
        fields = ["id", "measure", "number", "reason", "created_by", "created_at", "values"]
        read_only_fields = fields


class PlanDiffRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="line_id")
    line_label = serializers.CharField(source="line")
    month = serializers.DateField()
    before = serializers.DecimalField(**MONEY, allow_null=True)
    after = serializers.DecimalField(**MONEY, allow_null=True)
    change = serializers.DecimalField(**MONEY)


class PlanDiffSerializer(serializers.Serializer):
    measure_id = serializers.IntegerField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    total_change = serializers.DecimalField(**MONEY)
    rows = PlanDiffRowSerializer(many=True)


class ProposedCellSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    month = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, allow_null=True)


class RebaselineRequestSerializer(serializers.ModelSerializer):
    values = ProposedCellSerializer(many=True, read_only=True)
    state = serializers.ChoiceField(choices=RebaselineState.choices, read_only=True)
    version = serializers.SerializerMethodField()

    class Meta:
        model = RebaselineRequest
        fields = [
            "id",
            "measure",
            "reason",
            "values",
            "state",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_comment",
            "version",
        ]
        read_only_fields = fields

    def get_version(self, request) -> int | None:
        return request.version.number if request.version_id else None


class RebaselineCreateSerializer(serializers.Serializer):
    measure = serializers.IntegerField()
    reason = serializers.CharField()
    values = ProposedCellSerializer(many=True)
