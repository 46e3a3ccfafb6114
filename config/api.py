"""DRF plumbing shared by every app: pagination and the one exception handler (DESIGN §9).

Every error a client receives has the same shape::

    {"detail": "<a sentence a person can act on>", "code": "<stable code>", ...}

plus `errors` (field -> messages) for bad input and `unmet_criteria` for a refused gate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from config.errors import CriteriaUnmet, DomainError
from config.requestlimits import CONCURRENT_CHANGE, is_concurrent_change
from readcache.selectors import DOMAINS, cached_read


def cached_response(
    request, name: str, compute: Callable[[], Any], key: object = (), domains: tuple[str, ...] = DOMAINS
) -> HttpResponse:
    """A GET answered from the read cache (ADR 0014); `compute()` gives the response data. Errors
    raised by `compute` reach the client as usual and are not cached. JSON is cached as rendered
    bytes (large bodies cost more to encode than to fetch); the host is part of the key because
    paginated data carries absolute links."""
    renderer = request.accepted_renderer
    full_key = (
        request.get_host(),
        request.is_secure(),
        sorted(request.query_params.lists()),
        renderer.format,
        key,
    )
    as_json = isinstance(renderer, JSONRenderer)

    def produce():
        data = compute()
        return renderer.render(data, request.accepted_media_type, {"request": request}) if as_json else data

    value = cached_read(name, request=request, key=full_key, compute=produce, domains=domains)
    return HttpResponse(value, content_type=renderer.media_type) if as_json else Response(value)


class CachedReadsMixin:
    """`list` and `retrieve` of a viewset answered from the read cache (ADR 0014), keyed by the
    version of `read_domains` (every domain the serializers read)."""

    read_domains = DOMAINS

    def list(self, request, *args, **kwargs):
        parent = super()
        return cached_response(
            request,
            f"{self.basename}-list",
            lambda: parent.list(request, *args, **kwargs).data,
            domains=self.read_domains,
        )

    def retrieve(self, request, *args, **kwargs):
        parent = super()
        return cached_response(
            request,
            f"{self.basename}-detail",
            lambda: parent.retrieve(request, *args, **kwargs).data,
            kwargs,
            domains=self.read_domains,
        )


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _field_errors(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _field_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_field_errors(item) for item in detail]
    return str(detail)


def _validation_summary(errors: Any) -> str:
    if isinstance(errors, dict):
        parts = []
        for field, messages in errors.items():
            first = messages[0] if isinstance(messages, list) and messages else messages
            label = "" if field in ("non_field_errors", "__all__") else f"{field}: "
            parts.append(f"{label}{_validation_summary(first)}")
        return "; ".join(parts)
    if isinstance(errors, list):
        return "; ".join(_validation_summary(item) for item in errors)
    return str(errors)


def domain_error_body(exc: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
    if isinstance(exc, CriteriaUnmet):
        body["unmet_criteria"] = exc.unmet
    elif exc.details is not None:
        body["errors"] = exc.details
    return body


def _request_error(exc: Exception) -> Response | None:
    """Errors raised while Django reads the request, and database conflicts: Django itself would
    answer them with an HTML 400 or a 500."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is too large: the limit is {limit:,} bytes besides attached files."
        return Response({"detail": detail, "code": "request_too_large"}, status=413)
    if isinstance(exc, TooManyFieldsSent):
        detail = f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields."
        return Response({"detail": detail, "code": "too_many_fields"}, status=400)
    if isinstance(exc, TooManyFilesSent):
        detail = f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files."
        return Response({"detail": detail, "code": "too_many_files"}, status=400)
    if is_concurrent_change(exc):
        set_rollback()  # the transaction is aborted: an outer atomic block must not commit
        return Response({"detail": CONCURRENT_CHANGE, "code": "concurrent_change"}, status=409)
    return None


def _domain_error(exc: DomainError) -> Response:
    response = Response(domain_error_body(exc), status=exc.status_code)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return _domain_error(exc)
    request_error = _request_error(exc)
    if request_error is not None:
        return request_error
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        if not isinstance(errors, dict):
            errors = {"non_field_errors": errors}
        response.data = {
            "detail": f"Invalid input: {_validation_summary(errors)}",
            "code": "invalid",
            "errors": errors,
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if not isinstance(detail, dict | list) else exc.default_code
        response.data = {"detail": str(detail), "code": code}
    return response


# --- The schema tells clients about these errors too (DESIGN §9; found by schemathesis) ---------

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {},
        "unmet_criteria": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["detail"],
}
ERRORS_EVERYWHERE = {
    "400": "Invalid input (field errors in `errors`).",
    "401": "Not authenticated.",
    "403": "Permission or four-eyes refusal, with the reason.",
    "404": "Unknown object, or one you may not see.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "429": "Too many requests.",
}
ERRORS_ON_WRITES = {
    "409": "Not allowed from the current state, or a stale `version`.",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
    "422": "Criteria not met (listed in `unmet_criteria`).",
}


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the error shape of
    `exception_handler`, so clients (and schemathesis) know a 400/403/404/409/422 is expected."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            errors = dict(ERRORS_EVERYWHERE)
            if method in ("post", "put", "patch", "delete"):
                errors |= ERRORS_ON_WRITES
            responses = operation.setdefault("responses", {})
            for status_code, description in errors.items():
                responses.setdefault(status_code, {"description": description, "content": error})
    return result
