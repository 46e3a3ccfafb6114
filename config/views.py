from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers; also the 'floor' view the benchmarks compare against: the
    cheapest JSON response Django can give (no database, no session, no template)."""
    return JsonResponse({"status": "ok"})
