"""Limits every request meets before and after a view runs, for the API and the pages alike.

- Size: a body larger than the application accepts is refused from its Content-Length with 413,
  before anything reads it (Django's own check answers 400 and only for bodies it buffers).
- Client address: throttles and login lockouts count per client, and the address is taken from
  X-Forwarded-For only as far as our own proxies appended it (VALUEGATE_TRUSTED_PROXIES).
- Concurrent change: a deadlock or serialization failure PostgreSQL resolved by aborting this
  request is a 409 "try again", never a 500 (the API's exception handler says the same).
- Unavailable: every 503 tells the client when to come back (Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg.errors
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from rest_framework.throttling import BaseThrottle

API_PREFIX = "/api/"
# Room in a multipart body for the boundaries, part headers and the small fields beside the file.
MULTIPART_MARGIN_BYTES = 1024 * 1024
# Report runs are re-queued every minute; no other outage of ours is shorter to wait out.
RETRY_AFTER_SECONDS = 60
CONCURRENT_CHANGE = "Another change to the same record happened at the same moment. Try again."


def body_limit(content_type: str) -> int | None:
    """Largest body accepted: an upload's limit plus framing for multipart, Django's in-memory
    limit for everything else (JSON, forms); None when unlimited."""
    if content_type.startswith("multipart/"):
        return settings.VALUEGATE_MAX_UPLOAD_BYTES + MULTIPART_MARGIN_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large_message(size: int, limit: int) -> str:
    return f"The request body is {size:,} bytes; the limit is {limit:,} bytes."


def client_address(request: HttpRequest) -> str | None:
    """The client's address as DRF's throttles see it: REMOTE_ADDR, or with N trusted proxies the
    address N hops from the right of X-Forwarded-For (NUM_PROXIES = VALUEGATE_TRUSTED_PROXIES).
    django-axes uses it too (AXES_CLIENT_IP_CALLABLE), so lockouts and throttles agree."""
    return BaseThrottle().get_ident(request)


def is_concurrent_change(exc: BaseException) -> bool:
    """A deadlock or serialization failure: PostgreSQL aborted this transaction so that another
    could finish; repeating the request is safe."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else exc
    return isinstance(cause, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0  # Django treats it as no body too


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._refuse_large_body(request) or self.get_response(request)
        if response.status_code == 503 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_concurrent_change(exception):
            return None
        if _is_api(request):
            return JsonResponse({"detail": CONCURRENT_CHANGE, "code": "concurrent_change"}, status=409)
        html = render_to_string("409.html", {"message": CONCURRENT_CHANGE}, request)
        return HttpResponse(html, status=409)

    def _refuse_large_body(self, request: HttpRequest) -> HttpResponse | None:
        size = _content_length(request)
        limit = body_limit(request.META.get("CONTENT_TYPE", ""))
        if limit is None or size <= limit:
            return None
        message = too_large_message(size, limit)
        if _is_api(request):
            return JsonResponse({"detail": message, "code": "request_too_large"}, status=413)
        return HttpResponse(render_to_string("413.html", {"message": message}), status=413)
