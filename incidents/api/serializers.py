"""Translation only: input serializers validate shape, output serializers present the field
names of DESIGN §9. Rules live in incidents.services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.limits import LINE_MAX_CHARS
from incidents import selectors
from incidents.choices import (
    Audience,
    Channel,
    CriterionKind,
    EntryKind,
    IncidentState,
    RoleKind,
    Severity,
    UpdateKind,
)
from incidents.models import (
    DeclarationCriterion,
    Incident,
    IncidentRole,
    RecoveryValidation,
    Service,
    StatusUpdate,
    StatusUpdateTemplate,
    TimelineEntry,
    VendorEscalation,
)

User = get_user_model()
MAX_INT = 2_147_483_647  # PostgreSQL integer
_users = User.objects.filter(is_active=True)


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = [
            "id", "name", "tier", "owner", "business_process", "customer_facing", "regulated", "vendor",
            "cost_per_minute", "active",
        ]  # fmt: skip


class DeclarationCriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeclarationCriterion
        fields = ["id", "name", "kind", "threshold", "active"]


class IncidentRoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentRole
        fields = ["id", "incident", "role", "user", "assigned_at", "assigned_by", "ended_at"]


class IncidentCurrentRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=RoleKind.choices)
    user = serializers.IntegerField(source="user_id")
    name = serializers.SerializerMethodField()

    def get_name(self, obj: IncidentRole) -> str:
        return obj.user.get_full_name() or obj.user.username


class IncidentSerializer(serializers.ModelSerializer):
    severity = serializers.IntegerField()
    state = serializers.CharField(read_only=True)
    services = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    next_update_due_at = serializers.SerializerMethodField()
    update_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id", "reference", "title", "severity", "state", "services",
            "impact_started_at", "detected_at", "reported_at", "acknowledged_at", "declared_at",
            "team_assembled_at", "restored_at", "validated_at", "closed_at", "users_affected",
            "description", "estimated_downtime_minutes", "revenue_impact", "regulatory_risk",
            "executive_visibility", "criteria_met", "declaration_suggested", "response_effort_hours",
            "reopen_count", "roles", "next_update_due_at", "update_overdue", "created_at",
        ]  # fmt: skip

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_services(self, obj: Incident) -> list[int]:
        return [s.pk for s in obj.services.all()]

    @extend_schema_field(IncidentCurrentRoleSerializer(many=True))
    def get_roles(self, obj: Incident) -> list[dict]:
        roles = getattr(obj, "current_roles", None)
        if roles is None:
            roles = list(obj.roles.filter(ended_at__isnull=True).select_related("user"))
        return IncidentCurrentRoleSerializer(roles, many=True).data

    def _due(self, obj: Incident):
        cache = self.context.setdefault("_due", {})
        if obj.pk not in cache:
            cache[obj.pk] = selectors.incident_due(obj, self.context.get("policies"))
        return cache[obj.pk]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_update_due_at(self, obj: Incident):
        due = self._due(obj)
        return serializers.DateTimeField().to_representation(due) if due else None

    def get_update_overdue(self, obj: Incident) -> bool:
        due = self._due(obj)
        return bool(due and due < timezone.now())


class IncidentCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=LINE_MAX_CHARS)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV2)
    services = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all(), many=True, required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    users_affected = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False, allow_null=True)
    estimated_downtime_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, required=False, allow_null=True
    )
    revenue_impact = serializers.BooleanField(required=False, default=False)
    regulatory_risk = serializers.BooleanField(required=False, default=False)
    executive_visibility = serializers.BooleanField(required=False, default=False)
    impact_started_at = serializers.DateTimeField(required=False, allow_null=True)
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    reported_at = serializers.DateTimeField(required=False, allow_null=True)


class DeclarationCriteriaInputSerializer(serializers.Serializer):
    services = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all(), many=True, required=False)
    users_affected = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False, allow_null=True)
    estimated_downtime_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, required=False, allow_null=True
    )
    revenue_impact = serializers.BooleanField(required=False, default=False)
    regulatory_risk = serializers.BooleanField(required=False, default=False)
    executive_visibility = serializers.BooleanField(required=False, default=False)


class DeclarationCriterionResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=CriterionKind.choices)
    met = serializers.BooleanField()


class IncidentUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=LINE_MAX_CHARS, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    services = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all(), many=True, required=False)
    users_affected = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False, allow_null=True)
    estimated_downtime_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, required=False, allow_null=True
    )
    revenue_impact = serializers.BooleanField(required=False)
    regulatory_risk = serializers.BooleanField(required=False)
    executive_visibility = serializers.BooleanField(required=False)
    response_effort_hours = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False
    )
    impact_started_at = serializers.DateTimeField(required=False)
    detected_at = serializers.DateTimeField(required=False)
    reported_at = serializers.DateTimeField(required=False)
    acknowledged_at = serializers.DateTimeField(required=False, allow_null=True)
    declared_at = serializers.DateTimeField(required=False, allow_null=True)
    team_assembled_at = serializers.DateTimeField(required=False, allow_null=True)
    restored_at = serializers.DateTimeField(required=False, allow_null=True)
    validated_at = serializers.DateTimeField(required=False, allow_null=True)
    closed_at = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why times changed."
    )


class IncidentTransitionSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When it happened; default now."
    )


class IncidentReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class IncidentSeveritySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = [
            "id", "incident", "kind", "occurred_at", "recorded_at", "author", "text", "rationale",
            "alternatives", "decided_by", "corrects", "pinned",
        ]  # fmt: skip


class TimelineEntryCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    text = serializers.CharField()
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    rationale = serializers.CharField(required=False, allow_blank=True, default="")
    alternatives = serializers.CharField(required=False, allow_blank=True, default="")
    decided_by = serializers.PrimaryKeyRelatedField(queryset=_users, required=False, allow_null=True)
    corrects = serializers.PrimaryKeyRelatedField(
        queryset=TimelineEntry.objects.all(), required=False, allow_null=True
    )


class TimelineEntryPinSerializer(serializers.Serializer):
    pinned = serializers.BooleanField(default=True)


class StatusUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusUpdate
        fields = [
            "id", "incident", "kind", "audience", "channel", "affected_service", "business_impact",
            "current_status", "workaround", "next_update_due_at", "decisions_needed", "subject", "body",
            "state", "requires_approval", "approved_by", "approved_at", "sent_at", "created_by", "created_at",
        ]  # fmt: skip


class StatusUpdateCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=UpdateKind.choices)
    audience = serializers.ChoiceField(choices=Audience.choices)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.EMAIL)
    affected_service = serializers.CharField(max_length=300, allow_blank=True)
    business_impact = serializers.CharField(allow_blank=True)
    current_status = serializers.CharField(allow_blank=True)
    workaround = serializers.CharField(required=False, allow_blank=True, default="")
    next_update_due_at = serializers.DateTimeField(required=False, allow_null=True)
    decisions_needed = serializers.CharField(required=False, allow_blank=True, default="")
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="")
    requires_approval = serializers.BooleanField(required=False, default=False)


class StatusUpdatePrefillSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=UpdateKind.choices)
    subject = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    affected_service = serializers.CharField()
    business_impact = serializers.CharField(allow_blank=True)
    current_status = serializers.CharField(allow_blank=True)
    workaround = serializers.CharField(allow_blank=True)
    decisions_needed = serializers.CharField(allow_blank=True)
    next_update_due_at = serializers.DateTimeField(allow_null=True)


class StatusUpdateTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusUpdateTemplate
        fields = ["id", "kind", "subject", "body"]
        read_only_fields = ["kind"]


class IncidentRoleAssignSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=RoleKind.choices)
    user = serializers.PrimaryKeyRelatedField(queryset=_users)
    at = serializers.DateTimeField(required=False, allow_null=True)


class VendorEscalationSerializer(serializers.ModelSerializer):
    class Meta:
        model = VendorEscalation
        fields = [
            "id",
            "incident",
            "vendor",
            "contacted_at",
            "responded_at",
            "reference",
            "notes",
            "created_by",
        ]


class VendorEscalationCreateSerializer(serializers.Serializer):
    vendor = serializers.CharField(max_length=200)
    contacted_at = serializers.DateTimeField(required=False, allow_null=True)
    responded_at = serializers.DateTimeField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class VendorEscalationRespondedSerializer(serializers.Serializer):
    responded_at = serializers.DateTimeField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RecoveryValidationSerializer(serializers.ModelSerializer):
    unmet = serializers.SerializerMethodField()
    # null until the first save: GET on an incident nobody validated yet returns the blank form
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = RecoveryValidation
        fields = [
            "service_restored", "users_still_affected", "workarounds_still_needed", "monitoring_stable",
            "residual_risks_open", "residual_risks", "business_confirmed_by", "business_confirmed_at",
            "updated_by", "updated_at", "unmet",
        ]  # fmt: skip
        read_only_fields = ["business_confirmed_at", "updated_by", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField(child=serializers.CharField())))
    def get_unmet(self, obj: RecoveryValidation) -> list[dict[str, str]]:
        return obj.unmet()


class IncidentMetricsQuerySerializer(serializers.Serializer):
    # `from` is a Python keyword: declared below.
    to = serializers.DateField(required=False)
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all(), required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return attrs


class IncidentImportResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=IncidentState.choices)


class IncidentImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    incidents = IncidentImportResultSerializer(many=True)
