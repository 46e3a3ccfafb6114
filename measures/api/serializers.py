from django.contrib.auth import get_user_model
from rest_framework import serializers

from measures.choices import ScopeKind, ScopeRole
from measures.models import Membership, Scope

User = get_user_model()


class ScopeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scope
        fields = ["id", "name", "kind", "parent", "description", "path"]
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
