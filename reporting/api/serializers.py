from django.urls import reverse
from rest_framework import serializers

from reporting.models import ReportKind, ReportRun


class ReportRunSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = ReportRun
        fields = [
            "id",
            "kind",
            "parameters",
            "status",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "attempts",
            "sha256",
            "pages",
            "size_bytes",
            "error",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, run: ReportRun) -> str | None:
        if run.status != "done":
            return None
        return reverse("report-run-download", args=[run.pk])


class ReportRunRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    parameters = serializers.DictField(help_text='e.g. {"scope": 3}')
