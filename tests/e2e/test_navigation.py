import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_program_manager_logs_in_and_browses_the_scope_tree(page, cast, tree, shoot):
    login(page, "pm")
    assert page.get_by_role("heading", name="Leadership dashboard").is_visible()
    page.get_by_role("link", name="Scopes").click()
    assert page.get_by_role("link", name="Scopes").get_attribute("aria-current") == "page"
    assert page.get_by_text("Failover").is_visible()
    assert page.get_by_text("Rightsizing").count() == 0
    shoot(page, "scopes")


def test_wrong_password_shows_an_error_next_to_the_form(page, cast):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("pm")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    assert "correct username and password" in page.get_by_role("alert").inner_text()
