"""Deployment hardening seen from the outside: security headers on a page, throttling on the token endpoint."""

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_a_page_carries_the_security_headers(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response.get("Content-Security-Policy") or response.get("Content-Security-Policy-Report-Only")
    assert csp and "default-src" in csp


@pytest.mark.django_db
def test_the_login_page_is_not_frameable_either(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_token_endpoint_answers_429_after_the_configured_rate(admin_user):
    cache.clear()
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/auth/token/", {"username": "ada", "password": "wrong"}, format="json"
        ).status_code
        for _ in range(limit + 1)
    ]
    assert 429 not in statuses[:limit], statuses
    assert statuses[limit] == 429
    assert "Retry-After" in client.post("/api/v1/auth/token/", {"username": "ada", "password": "x"}).headers
    cache.clear()
