from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from reporting import selectors, services
from reporting.api.serializers import ReportRunRequestSerializer, ReportRunSerializer
from reporting.models import ReportRun


class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Request PDFs (202 + the run), poll them, download them when ready."""

    serializer_class = ReportRunSerializer
    filterset_fields = ["kind", "status"]
    ordering_fields = ["created_at", "finished_at"]

    queryset = ReportRun.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReportRun.objects.none()
        return selectors.report_run_list(user=self.request.user)

    @extend_schema(request=ReportRunRequestSerializer, responses={202: ReportRunSerializer})
    def create(self, request):
        data = ReportRunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.report_run_request(by=request.user, **data.validated_data)
        return Response(ReportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="The PDF")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        return download_response(run_id=pk, user=request.user)


def download_response(*, run_id, user) -> FileResponse | Response:
    run = services.report_run_for_download(run_id=run_id, user=user)
    if run.status != "done":
        return Response(
            {
                "detail": f"The report is {run.get_status_display().lower()}; it has no file yet.",
                "code": "not_ready",
            },
            status=status.HTTP_409_CONFLICT,
        )
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=f"{run.kind}-{run.pk}.pdf")
