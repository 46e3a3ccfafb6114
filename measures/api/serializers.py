from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from measures import permissions, selectors
from measures.api.effects_serializers import AmountField
from measures.choices import LIGHTS, ScopeKind, ScopeRole, Stage
from measures.models import (
    AuditEntry,
    Comment,
    Dependency,
    Document,
    EffectLine,
    GateApproval,
    GateRequest,
    Measure,
    Membership,
    Milestone,
    Risk,
    Scope,
)

User = get_user_model()


class ScopeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scope
        fields = [
            "id",
            "name",
            "kind",
            "parent",
            "description",
            "path",
            "milestone_red_days",
            "potential_tolerance_percent",
            "leakage_percent",
        ]
        read_only_fields = ["path"]


class ScopeCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ScopeKind.choices)
    parent = serializers.PrimaryKeyRelatedField(queryset=Scope.objects.all(), allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ScopeUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    parent = serializers.PrimaryKeyRelatedField(queryset=Scope.objects.all(), allow_null=True, required=False)
    milestone_red_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=365,
        help_text="Programs: red threshold in days.",
    )
    potential_tolerance_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text="Programs: % the in-year estimate may fall below plan with a green potential light.",
    )
    leakage_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text="Programs: % below the closing run rate that flags a closed measure as leaking.",
    )


class UserSerializer(serializers.ModelSerializer):
    groups = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_active", "groups"]
        read_only_fields = ["is_active", "groups"]


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, min_length=8)
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")
    email = serializers.EmailField(required=False, default="")
    groups = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class MeSerializer(UserSerializer):
    memberships = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "memberships"]

    def get_memberships(self, user) -> list[dict]:
        return [
            {"scope": m.scope_id, "scope_name": m.scope.name, "role": m.role}
            for m in user.memberships.select_related("scope")
        ]


class MembershipSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=ScopeRole.choices)

    class Meta:
        model = Membership
        fields = ["id", "user", "scope", "role", "created_at"]
        read_only_fields = ["created_at"]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


# --- Measures (DESIGN §9 field names) ---------------------------------------------------------


class MeasureListSerializer(serializers.ListSerializer):
    """Computes the potential light of a whole page at once (constant queries per page)."""

    def to_representation(self, data):
        measures = list(data.all() if hasattr(data, "all") else data)
        lights = selectors.potential_lights(measures)
        for measure in measures:
            measure.potential_light = lights.get(measure.pk)
        return super().to_representation(measures)


class MeasureSerializer(serializers.ModelSerializer):
    doi = serializers.IntegerField(read_only=True, min_value=0, max_value=5)
    implementation_status = serializers.SerializerMethodField()
    potential_status = serializers.SerializerMethodField()
    # Blank unless set: DRF drops allow_blank on read-only model fields, so the schema said they
    # never are (found by schemathesis).
    stage_before_hold = serializers.ChoiceField(choices=Stage.choices, allow_blank=True, read_only=True)
    implementation_override = serializers.ChoiceField(choices=LIGHTS, allow_blank=True, read_only=True)
    potential_override = serializers.ChoiceField(choices=LIGHTS, allow_blank=True, read_only=True)

    class Meta:
        model = Measure
        fields = [
            "id",
            "code",
            "title",
            "objective",
            "package",
            "owner",
            "sponsor",
            "controller",
            "business_unit",
            "stage",
            "doi",
            "implementation_status",
            "potential_status",
            "implementation_override",
            "implementation_override_comment",
            "potential_override",
            "potential_override_comment",
            "version",
            "stage_before_hold",
            "hold_reason",
            "cancel_reason",
            "no_known_risks",
            "no_known_overlaps",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        list_serializer_class = MeasureListSerializer

    @extend_schema_field(serializers.ChoiceField(choices=LIGHTS))
    def get_implementation_status(self, measure) -> str:
        return selectors.implementation_status(measure)

    @extend_schema_field(serializers.ChoiceField(choices=LIGHTS))
    def get_potential_status(self, measure) -> str:
        return selectors.potential_status(measure)


def _user_field(**kwargs):
    return serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False, **kwargs
    )


class MeasureWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    objective = serializers.CharField()
    package = serializers.PrimaryKeyRelatedField(queryset=Scope.objects.filter(kind=ScopeKind.PACKAGE))
    owner = _user_field()
    sponsor = _user_field()
    controller = _user_field()
    business_unit = serializers.CharField(max_length=120, required=False, allow_blank=True)
    no_known_risks = serializers.BooleanField(required=False)
    no_known_overlaps = serializers.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["package"].queryset = permissions.visible_scopes(request.user).filter(
                kind=ScopeKind.PACKAGE
            )


class MeasureUpdateSerializer(MeasureWriteSerializer):
    version = serializers.IntegerField(help_text="The version you read; a stale one gets 409.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "version":
                field.required = False
        self.fields["objective"].allow_blank = True


class MeasureReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    version = serializers.IntegerField(required=False)


class StatusOverrideSerializer(serializers.Serializer):
    light = serializers.ChoiceField(choices=["implementation", "potential"])
    status = serializers.ChoiceField(choices=[("", "No override"), *LIGHTS], allow_blank=True)
    comment = serializers.CharField()
    version = serializers.IntegerField(required=False)


class MeasureVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False)


class GateApprovalSerializer(serializers.ModelSerializer):
    class Meta:
        model = GateApproval
        fields = ["role", "user", "decision", "comment", "decided_at"]


class GateRequestSerializer(serializers.ModelSerializer):
    approvals = GateApprovalSerializer(many=True, read_only=True)

    class Meta:
        model = GateRequest
        fields = [
            "id",
            "measure",
            "from_doi",
            "to_doi",
            "state",
            "requested_by",
            "requested_at",
            "comment",
            "decided_at",
            "approvals",
            "unmet_criteria",
        ]
        read_only_fields = fields


class GateRequestCreateSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class GateDecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class GateCriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    met = serializers.BooleanField()
    message = serializers.CharField()


class GateChecklistSerializer(serializers.Serializer):
    to_doi = serializers.IntegerField(allow_null=True)
    criteria = GateCriterionSerializer(many=True)


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor_id",
            "actor_name",
            "action",
            "subject_type",
            "subject_id",
            "before",
            "after",
            "comment",
            "hash",
        ]


class MeasurePartSerializer(serializers.ModelSerializer):
    """Base for the parts of a measure: `measure` must be one the caller may see."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "measure" in self.fields and not self.fields["measure"].read_only:
            self.fields["measure"].queryset = permissions.visible_measures(request.user)

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and "measure" in fields:
            fields["measure"].read_only = True
        return fields


class EffectLineSerializer(MeasurePartSerializer):
    account = serializers.CharField(help_text="A code of the account chart (VALUEGATE_EFFECT_ACCOUNTS).")
    annual_potential = AmountField(max_digits=16, required=False, allow_null=True)
    baseline_value = AmountField(max_digits=16, required=False, allow_null=True)

    class Meta:
        model = EffectLine
        fields = [
            "id",
            "measure",
            "account",
            "recurrence",
            "nature",
            "hardness",
            "annual_potential",
            "baseline_value",
            "baseline_definition",
        ]


class MilestoneSerializer(MeasurePartSerializer):
    class Meta:
        model = Milestone
        fields = [
            "id",
            "measure",
            "title",
            "due_date",
            "critical",
            "completed_at",
            "evidence_note",
            "evidence_document",
        ]
        read_only_fields = ["completed_at", "evidence_note", "evidence_document"]


class MilestoneCompleteSerializer(serializers.Serializer):
    completed_at = serializers.DateField()
    evidence_note = serializers.CharField(required=False, allow_blank=True, default="")
    evidence_document = serializers.PrimaryKeyRelatedField(
        queryset=Document.objects.all(), required=False, allow_null=True, default=None
    )


class RiskSerializer(MeasurePartSerializer):
    probability = serializers.IntegerField(min_value=1, max_value=5)
    impact = serializers.IntegerField(min_value=1, max_value=5)
    score = serializers.IntegerField(read_only=True)

    class Meta:
        model = Risk
        fields = ["id", "measure", "title", "probability", "impact", "score", "mitigation", "owner", "status"]


class DependencySerializer(MeasurePartSerializer):
    class Meta:
        model = Dependency
        fields = ["id", "source", "target", "kind", "share_percent", "note", "created_at"]
        read_only_fields = ["created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            visible = permissions.visible_measures(request.user)
            self.fields["source"].queryset = visible
            self.fields["target"].queryset = visible


class DocumentSerializer(MeasurePartSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "measure",
            "kind",
            "filename",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = ["filename", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]

    def get_download_url(self, document) -> str:
        return reverse("document-download", args=[document.pk])


class DocumentUploadSerializer(MeasurePartSerializer):
    file = serializers.FileField(
        help_text="PDF, PNG, JPEG, DOCX, XLSX, TXT or CSV; size limit from settings."
    )

    class Meta:
        model = Document
        fields = ["measure", "kind", "file"]


class CommentSerializer(MeasurePartSerializer):
    class Meta:
        model = Comment
        fields = ["id", "measure", "author", "body", "created_at"]
        read_only_fields = ["author", "created_at"]
