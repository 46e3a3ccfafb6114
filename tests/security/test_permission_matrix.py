"""Permission matrix generated from the URL conf (pages and the DRF routers).

Every route (admin site excepted) is requested by an anonymous client with GET and POST, and the
measure-scoped routes by people outside the measure's scope (DESIGN §4). The expectations live in
one table below; a route the table does not classify fails the test, so new endpoints must be
classified. Unexpected allows fail.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from measures import services
from measures.models import Measure

# --- the one expectation table --------------------------------------------------------------------
# Anonymous: API → 401/403; pages → 302 to the login page. PUBLIC routes answer anyone.
PUBLIC = {
    "healthz",
    "login",
    "logout",
    "api-token",
    "schema",
    "api-schema",
    "swagger-ui",
    "redoc",
    "api-docs",
}
ANON_API = {401, 403}
ANON_PAGE = {302}
# People outside a measure's scope: the measure does not exist for them.
OUT_OF_SCOPE = {404}
# Route names whose pk is a measure (API detail/actions and pages) — checked for out-of-scope users.
MEASURE_ROUTE = re.compile(r"^(measure-(?!list)[\w-]+|measures?[:_-]?(detail|edit|figures|effects?)[\w-]*)$")

_MISSING = object()


def _routes():
    def walk(patterns, prefix="", ns=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(
                    p.url_patterns, prefix + str(p.pattern), (ns + p.namespace + ":") if p.namespace else ns
                )
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), (ns + p.name) if p.name else None

    for route, name in walk(get_resolver().url_patterns):
        if route.startswith("admin/") or route.startswith("static") or route.startswith("__"):
            continue
        yield route, name


def _concrete(route: str, pk: int) -> str:
    route = route.replace(r"(?P<name>[a-z-]+)\.(?P<fmt>csv|xlsx)", "measures.csv")
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<format>[^)]*\)", "", path)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", str(pk), path)
    path = re.sub(r"<int:\w+>|<\w+>|<str:\w+>|<slug:\w+>", str(pk), path)
    path = re.sub(r"<path:\w+>", "x", path)
    path = path.replace("\\.", ".")
    return "/" + path


def _expected_anonymous(route: str, name) -> set[int] | None:
    short = (name or "").split(":")[-1]
    if short in PUBLIC or route in {"healthz/", "accounts/login/", "accounts/logout/"}:
        return None
    if route.startswith("api/"):
        return ANON_API
    return ANON_PAGE


ROUTES = sorted(set(_routes()), key=lambda r: r[0])


def test_every_route_is_classified():
    unnamed = [route for route, name in ROUTES if not name]
    assert not unnamed, f"unnamed routes cannot be classified: {unnamed}"
    assert len(ROUTES) > 50


@pytest.mark.django_db
def test_anonymous_matrix(client, cast, tree):
    measure = (
        services.measure_create(
            title="Matrix measure",
            objective="Matrix",
            package=tree.package,
            owner=cast["owner"],
            by=cast["pm"],
        )
        if hasattr(services, "measure_create")
        else None
    )
    pk = measure.pk if measure else 1
    cells, unexpected = 0, []
    for route, name in ROUTES:
        expected = _expected_anonymous(route, name)
        if expected is None:
            continue
        path = _concrete(route, pk)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            cells += 1
            status = response.status_code
            if status not in expected:
                unexpected.append((method.upper(), path, name, status))
            elif status == 302:
                assert "/accounts/login/" in response["Location"], (path, response["Location"])
    print(f"anonymous matrix: {cells} cells")
    assert not unexpected, unexpected


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["outsider", "viewer"])
def test_out_of_scope_people_cannot_reach_a_measure(client, api, cast, tree, who):
    if not hasattr(services, "measure_create"):
        pytest.fail("measures.services.measure_create is the way to build a measure")
    measure = services.measure_create(
        title="Elsewhere",
        objective="Matrix",
        package=tree.sibling_package if who == "viewer" else tree.package,
        owner=cast["owner"],
        by=cast["pm"],
    )
    user = cast[who]
    client.force_login(user)
    api.as_user(user)
    cells, unexpected = 0, []
    for route, name in ROUTES:
        short = (name or "").split(":")[-1]
        if not MEASURE_ROUTE.match(short) and not re.match(r"^(api/v1/\^?)?measures/.*pk", route):
            continue
        path = _concrete(route, measure.pk)
        c = api if route.startswith("api/") else client
        for method in ("get", "post"):
            status = getattr(c, method)(path).status_code
            cells += 1
            # 400: an action validates its (empty) body before the lookup — refused, nothing changed.
            if status not in OUT_OF_SCOPE | {403, 405} and not (method == "post" and status == 400):
                unexpected.append((method.upper(), path, name, status))
    print(f"{who} out-of-scope matrix: {cells} cells")
    fresh = Measure.objects.get(pk=measure.pk)
    assert (fresh.stage, fresh.version) == (measure.stage, measure.version)
    assert cells > 10
    assert not unexpected, unexpected
