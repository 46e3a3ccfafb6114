"""Pages whose body comes from the read cache (ADR 0014).

A cached page template extends `base_template` (default "base.html"). To fill the cache the view's
template is rendered over "blocks_only.html", which prints just its title, breadcrumbs and content
blocks; each request then puts those into the real layout — its own navigation, messages and CSRF
token. Forms in the body are rendered with a placeholder token, replaced by the requester's own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from readcache.selectors import DOMAINS, cached_read

BLOCKS = ("title", "breadcrumbs", "content")
SEPARATOR = "<!--valuegate:block-->"  # user text cannot contain it: "<" is escaped
CSRF_PLACEHOLDER = "valuegate-csrf-placeholder"


def render_cached(
    request: HttpRequest,
    name: str,
    *,
    template: str,
    context: Callable[[], dict],
    key: object = (),
    domains: tuple[str, ...] = DOMAINS,
) -> HttpResponse:
    """`render(request, template, context())`, with the page body computed at most once per person,
    data version and minute. `key` names what the page shows besides the query string (its id);
    `domains` every part of the data version the page's body reads (readcache.selectors)."""

    def blocks() -> list[str]:
        values = {**context(), "base_template": "blocks_only.html", "csrf_token": CSRF_PLACEHOLDER}
        return render_to_string(template, values, request).split(SEPARATOR)

    parts = cached_read(
        name, request=request, key=(key, sorted(request.GET.lists())), compute=blocks, domains=domains
    )
    token = get_token(request)
    filled = {
        f"cached_{block}": mark_safe(part.replace(CSRF_PLACEHOLDER, token))  # noqa: S308 — rendered by our templates
        for block, part in zip(BLOCKS, parts, strict=True)
    }
    return render(request, "cached_page.html", filled)
