"""Pages served whole from the read cache (ADR 0014).

The page is rendered once per person, data version, minute and URL, with two holes that differ per
request: the CSRF token (every form, and htmx's header, carry a placeholder replaced by the reader's
own token) and the flash messages (rendered into the hole when the request has any). Navigation,
the signed-in name and the current section depend only on the person, the data and the URL, all of
which are in the key."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from readcache.selectors import DOMAINS, cached_read

CSRF_PLACEHOLDER = "valuegate-csrf-placeholder"
MESSAGES_HOLE = "<!--valuegate:messages-->"  # user text cannot contain it: "<" is escaped


def render_cached(
    request: HttpRequest,
    name: str,
    *,
    template: str,
    context: Callable[[], dict],
    key: object = (),
    domains: tuple[str, ...] = DOMAINS,
) -> HttpResponse:
    """`render(request, template, context())`, computed at most once per person, data version,
    minute and URL. `key` names what the page shows besides its path and query string; `domains`
    every part of the data version the page reads, navigation included (readcache.selectors)."""

    def page() -> str:
        hole = mark_safe(MESSAGES_HOLE)  # noqa: S308 (a constant of ours)
        holes = {"csrf_token": CSRF_PLACEHOLDER, "messages_hole": hole}
        return render_to_string(template, {**context(), **holes}, request)

    html = cached_read(
        name,
        request=request,
        key=(request.path, sorted(request.GET.lists()), key),
        compute=page,
        domains=domains,
    )
    messages = get_messages(request)
    flashed = render_to_string("partials/_messages.html", {"messages": messages}) if messages else ""
    return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)).replace(MESSAGES_HOLE, flashed))
