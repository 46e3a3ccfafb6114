"""Serializers of the reviews API: output serializers translate rows, input serializers check the
shape of a request; the rules live in reviews.services (STYLE 6)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import TimelineEntry
from measures.choices import ScopeKind
from measures.models import Scope
from reviews.choices import ACTION_OPEN_STATES, ActionKind, Priority
from reviews.models import (
    SECTIONS,
    Action,
    ContributingFactor,
    FactorCategory,
    Review,
    ReviewApproval,
    ReviewRevision,
)

User = get_user_model()


def _active_users():
    return serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class FactorCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = FactorCategory
        fields = ["id", "code", "name", "description", "active"]


class FactorSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code", read_only=True)

    class Meta:
        model = ContributingFactor
        fields = ["id", "review", "category", "category_code", "description", "position"]
        read_only_fields = ["review", "position"]


class FactorCreateSerializer(serializers.Serializer):
    review = serializers.PrimaryKeyRelatedField(queryset=Review.objects.all())
    category = serializers.PrimaryKeyRelatedField(queryset=FactorCategory.objects.filter(active=True))
    description = serializers.CharField()


class FactorUpdateSerializer(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(
        queryset=FactorCategory.objects.filter(active=True), required=False
    )
    description = serializers.CharField(required=False)


class ApprovalSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewApproval
        fields = ["revision", "role", "user", "comment", "decided_at"]


class ReviewSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    incident_reference = serializers.CharField(source="incident.reference", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)
    factors = FactorSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    action_count = serializers.IntegerField(read_only=True)
    overdue_actions = serializers.IntegerField(read_only=True, allow_null=True)
    ineffective_actions = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Review
        fields = [
            "id", "incident", "incident_reference", "state", "due_at", "overdue", "revision", "version",
            *SECTIONS, "factors", "approvals", "submitted_by", "submitted_at", "approved_at", "published_at",
            "waived_by", "waived_at", "waive_reason", "action_count", "overdue_actions", "ineffective_actions",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ReviewUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text="The version you edited; 409 if it changed since."
    )

    def get_fields(self):
        fields = super().get_fields()
        for name in SECTIONS:
            fields[name] = serializers.CharField(required=False, allow_blank=True)
        return fields


class ReviewCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class WaiveReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class RevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewRevision
        fields = ["number", "content", "approved_at", "approvers"]


class DiffSerializer(serializers.Serializer):
    section = serializers.CharField()
    lines = serializers.ListField(child=serializers.CharField())


class PinnedEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "occurred_at", "text", "rationale", "alternatives", "decided_by", "author"]


class ActionSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="effective_state", read_only=True)
    own_state = serializers.CharField(
        source="state", read_only=True, help_text="The action's own state field."
    )
    incident_reference = serializers.CharField(source="review.incident.reference", read_only=True)
    verified_at = serializers.DateTimeField(source="effective_verified_at", read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()
    measure_code = serializers.SerializerMethodField()
    ineffective_reference = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = [
            "id", "review", "incident_reference", "kind", "title", "description", "owner", "due_date",
            "priority", "state", "own_state", "overdue", "rejection_rationale", "done_at", "verified_at",
            "measure", "measure_code", "promoted_at", "promoted_by", "baseline_suggestion",
            "ineffective_incident", "ineffective_reference", "ineffective_because", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_overdue(self, obj: Action) -> bool:
        return obj.effective_state in ACTION_OPEN_STATES and obj.due_date < timezone.localdate()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_measure_code(self, obj: Action) -> str | None:
        """Shown only to users who may see the measure."""
        return obj.measure.code if obj.measure_id and obj.measure_visible else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ineffective_reference(self, obj: Action) -> str | None:
        return obj.ineffective_incident.reference if obj.ineffective_incident_id else None


class ActionCreateSerializer(serializers.Serializer):
    review = serializers.PrimaryKeyRelatedField(queryset=Review.objects.all())
    kind = serializers.ChoiceField(choices=ActionKind.choices, default=ActionKind.CORRECTIVE)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owner = _active_users()
    due_date = serializers.DateField()
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.MEDIUM)


class ActionUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ActionKind.choices, required=False)
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = _active_users()
    due_date = serializers.DateField(required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["owner"].required = False
        return fields


class RationaleSerializer(serializers.Serializer):
    rationale = serializers.CharField()


class PromoteSerializer(serializers.Serializer):
    package = serializers.PrimaryKeyRelatedField(queryset=Scope.objects.filter(kind=ScopeKind.PACKAGE))
    title = serializers.CharField(max_length=200, required=False, help_text="Defaults to the action's title.")
    sponsor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    controller = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )


class LinkSerializer(serializers.Serializer):
    measure = serializers.IntegerField(help_text="Id of an existing measure you may see.")
