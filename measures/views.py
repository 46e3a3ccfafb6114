from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from measures import selectors


@login_required
def scope_browser(request: HttpRequest) -> HttpResponse:
    tree = selectors.scope_tree(user=request.user)
    return render(request, "measures/scope_browser.html", {"tree": tree})
