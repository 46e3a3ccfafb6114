"""Every page in the navigation opens (200) for each role that sees it and is refused (403/404)
for those that don't. The navigation per role comes from measures/context_processors.py's
`_SECTIONS`, so a section added there is checked here without editing this file. Django's test
client, not the browser: this is about status codes, not rendering."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from measures.choices import GlobalGroup
from measures.context_processors import _SECTIONS, navigation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def everyone(cast, make_user):
    """The cast plus an administrator (staff, as Django's admin site requires) and a signed-in user
    with no role at all."""
    admin = make_user("root", groups=[GlobalGroup.ADMIN], is_staff=True)
    admin.groups.add(Group.objects.get_or_create(name=GlobalGroup.ADMIN)[0])
    return {**cast, "root": admin, "nobody": make_user("nobody")}


def _nav_urls(client, user) -> set[str]:
    """The section URLs the navigation shows this user (from the context processor itself)."""
    request = client.get("/healthz/").wsgi_request
    request.user = user
    return {section["url"] for section in navigation(request)["nav_sections"]}


def _all_urls() -> set[str]:
    return {reverse(name) for _, name, _ in _SECTIONS}


USERS = ["pm", "controller", "sponsor", "owner", "viewer", "leader", "mim", "outsider", "root", "nobody"]


@pytest.mark.parametrize("username", USERS)
def test_each_navigation_page_opens_for_who_sees_it_and_is_refused_otherwise(client, everyone, username):
    user = everyone[username]
    client.force_login(user)
    shown = _nav_urls(client, user)
    assert shown, "every signed-in user sees some navigation"
    admin = reverse("admin:index")
    problems = []
    for url in sorted(_all_urls()):
        response = client.get(url)
        if url in shown and response.status_code != 200:
            problems.append(f"{url}: shown in the navigation but answers {response.status_code}")
        elif url == admin and url not in shown:
            # Django's admin site refuses non-staff by sending them to its own login page.
            if not (response.status_code == 302 and "/admin/login/" in response["Location"]):
                problems.append(f"{url}: hidden from the navigation but answers {response.status_code}")
        elif url not in shown and response.status_code not in (403, 404):
            problems.append(f"{url}: hidden from the navigation but answers {response.status_code}")
    assert not problems, problems


def test_the_controller_and_admin_sections_are_role_specific(client, everyone):
    """A sanity check on the derivation: the controller sees the controller inbox, the admin the
    admin site, and the program manager neither."""
    inbox, admin = reverse("reporting:controller-inbox"), reverse("admin:index")
    assert inbox in _nav_urls(client, everyone["controller"])
    assert admin in _nav_urls(client, everyone["root"])
    assert not {inbox, admin} & _nav_urls(client, everyone["pm"])


def test_anonymous_visitors_are_sent_to_log_in(client, cast):
    for url in sorted(_all_urls() - {reverse("admin:index")}):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
