from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from measures import permissions


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = request.user.memberships.select_related("scope").order_by("scope__path")
    return render(
        request,
        "reporting/home.html",
        {
            "memberships": memberships,
            "is_leadership": permissions.is_leadership(request.user),
            "is_incident_manager": permissions.is_incident_manager(request.user),
        },
    )
