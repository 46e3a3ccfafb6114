import pytest
from django.urls import reverse

from measures.choices import ScopeKind


def test_token_auth_round_trip(api, cast):
    response = api.post("/api/v1/auth/token/", {"username": "pm", "password": "a-long-test-password"})
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "pm"
    assert me.json()["memberships"][0]["role"] == "program_manager"
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.get("/api/v1/users/me/").status_code == 401


def test_bad_credentials_get_a_clear_message(api, cast):
    response = api.post("/api/v1/auth/token/", {"username": "pm", "password": "wrong"})
    assert response.status_code == 400
    assert "username and password" in response.json()["detail"]


def test_error_shape_for_field_errors(api, cast):
    response = api.as_user(cast["pm"]).post("/api/v1/scopes/", {"name": "", "kind": "galaxy"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) >= {"name", "kind", "parent"}
    assert body["detail"].startswith("Invalid input")


def test_invalid_tree_move_is_a_400_with_a_message(api, cast, tree, admin_user):
    response = api.as_user(admin_user).patch(
        f"/api/v1/scopes/{tree.program.pk}/", {"parent": tree.package.pk}, format="json"
    )
    assert response.status_code == 400
    assert "cannot contain" in response.json()["detail"]


def test_wrong_kind_under_parent_is_a_400(api, cast, tree):
    response = api.as_user(cast["pm"]).post(
        "/api/v1/scopes/", {"name": "P", "kind": ScopeKind.PROGRAM, "parent": tree.package.pk}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "A measure package cannot contain a program."


def test_unknown_and_invisible_scopes_are_404(api, cast, tree):
    client = api.as_user(cast["pm"])
    assert client.get("/api/v1/scopes/999999/").status_code == 404
    response = client.get(f"/api/v1/scopes/{tree.other_program.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_scope_list_only_shows_visible_scopes(api, cast, tree):
    names = {row["name"] for row in api.as_user(cast["viewer"]).get("/api/v1/scopes/").json()["results"]}
    assert names == {"Failover"}


def test_user_admin_endpoints_are_admin_only(api, cast, admin_user):
    assert api.as_user(cast["pm"]).get("/api/v1/users/").status_code == 403
    response = api.as_user(admin_user).post(
        "/api/v1/users/",
        {"username": "newbie", "password": "Corr3ct-Horse-Battery", "groups": ["leadership"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["groups"] == ["leadership"]
    new_id = response.json()["id"]
    assert api.post(f"/api/v1/users/{new_id}/deactivate/").json()["is_active"] is False


def test_duplicate_username_conflicts(api, cast, admin_user):
    response = api.as_user(admin_user).post(
        "/api/v1/users/", {"username": "PM", "password": "Corr3ct-Horse-Battery"}, format="json"
    )
    assert response.status_code == 409
    assert "taken" in response.json()["detail"]


def test_memberships_grant_visibility(api, cast, tree, admin_user):
    outsider = cast["outsider"]
    response = api.as_user(admin_user).post(
        "/api/v1/memberships/", {"user": outsider.pk, "scope": tree.package.pk, "role": "viewer"}
    )
    assert response.status_code == 201
    api.force_authenticate(outsider)
    assert api.get(f"/api/v1/scopes/{tree.package.pk}/").status_code == 200


def test_schema_and_docs_are_served_locally(client, cast):
    client.force_login(cast["pm"])
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content


@pytest.mark.django_db
def test_login_is_locked_after_repeated_failures(client, make_user, settings):
    make_user("target")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "target", "password": "nope"})
    response = client.post(reverse("login"), {"username": "target", "password": "a-long-test-password"})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content


def test_pages_need_login_and_show_navigation(client, cast):
    assert client.get("/scopes/").status_code == 302
    client.force_login(cast["pm"])
    page = client.get("/scopes/")
    assert page.status_code == 200
    assert b'aria-current="page">Scopes' in page.content
    assert b"Gateway" in page.content
    assert b"Cloud" not in page.content
