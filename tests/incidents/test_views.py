"""Browser pages: what a MIM and a reader see and can do."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.choices import RoleKind
from incidents.models import Incident
from tests.incidents.conftest import at


@pytest.fixture
def browser(client, mim):
    client.force_login(mim)
    return client


def test_list_pins_open_major_incidents_with_an_overdue_update(browser, walk):
    walk("closed", title="Old outage")
    walk("declared", title="Checkout down", start=300)
    page = browser.get("/incidents/").content.decode()
    pinned = page.split('id="open-majors"')[1].split("</section>")[0]
    assert "Checkout down" in pinned and "Old outage" not in pinned
    assert "Update overdue since" in pinned and "light-red" in pinned
    assert "Old outage" in page  # still in the table


def test_list_filters_by_state(browser, walk):
    walk("closed", title="Old outage")
    walk("declared", title="Checkout down", start=300)
    page = browser.get("/incidents/?state=closed").content.decode()
    table = page.split("<table")[1]
    assert "Old outage" in table and "Checkout down" not in table


def test_the_pinned_panel_refreshes_by_itself(browser, walk):
    walk("declared", title="Checkout down")
    response = browser.get("/incidents/?partial=pinned")
    assert 'hx-trigger="every 60s"' in response.content.decode()
    assert "Checkout down" in response.content.decode()


def test_log_an_incident_with_few_fields(browser, catalog):
    response = browser.post(
        "/incidents/new/", {"title": "Tills frozen", "severity": 1, "services": [catalog["payments"].pk]}
    )
    incident = Incident.objects.get(title="Tills frozen")
    assert response.status_code == 302 and response.url == f"/incidents/{incident.pk}/"
    page = browser.get(response.url).content.decode()
    assert "Declaration criteria met when logged" in page
    assert 'class="btn btn-primary" type="submit">Declare major incident' in page


def test_criteria_are_evaluated_as_you_type(browser, catalog):
    response = browser.post("/incidents/criteria/", {"title": "x", "users_affected": "900"})
    html = response.content.decode()
    assert "This looks major" in html
    assert html.count(">Met<") == 1
    quiet = browser.post("/incidents/criteria/", {"title": "x", "users_affected": "3"}).content.decode()
    assert "This looks major" not in quiet


def test_the_incident_page_shows_the_record(browser, walk, mim):
    incident = walk("declared")
    services.timeline_entry_add(
        incident=incident, by=mim, kind="decision", text="Fail over to DC2", rationale="DC1 storage lost",
        alternatives="Wait for the vendor", decided_by=mim, occurred_at=at(40),
    )  # fmt: skip
    services.vendor_escalation_add(
        incident=incident, by=mim, vendor="PayCo", contacted_at=at(35), reference="PC-7"
    )
    page = browser.get(f"/incidents/{incident.pk}/").content.decode()
    for text in ["Fail over to DC2", "DC1 storage lost", "Wait for the vendor", "PayCo", "PC-7", "Mia Ivanova",
                 "Service restored", "Time to detect", "Status update overdue"]:  # fmt: skip
        assert text in page, text


def test_the_timeline_filters_by_type(browser, walk, mim):
    incident = walk("declared")
    services.timeline_entry_add(incident=incident, by=mim, kind="note", text="Bridge opened")
    response = browser.get(f"/incidents/{incident.pk}/?partial=timeline&kind=note", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Bridge opened" in html and "Major incident declared" not in html


def test_actions_run_through_the_services(browser, walk):
    incident = walk("declared")
    response = browser.post(f"/incidents/{incident.pk}/do/restore/")
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).state == "restored"
    refused = browser.post(f"/incidents/{incident.pk}/do/validate/", follow=True).content.decode()
    assert "The incident cannot be validated yet." in refused
    assert Incident.objects.get(pk=incident.pk).state == "restored"


def test_status_update_form_is_prefilled_and_sends(browser, walk):
    incident = walk("declared")
    form = browser.get(f"/incidents/{incident.pk}/updates/new/?kind=initial").content.decode()
    assert f"[{incident.reference}] Major incident: Card payments failing" in form
    due = (timezone.localtime() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    response = browser.post(
        f"/incidents/{incident.pk}/updates/new/?kind=initial",
        {"kind": "initial", "audience": "business", "channel": "email", "subject": "S", "body": "B",
         "affected_service": "Payments", "business_impact": "No cards", "current_status": "Investigating",
         "next_update_due_at": due},
    )  # fmt: skip
    assert response.status_code == 302
    assert incident.status_updates.get().state == "sent"
    page = browser.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Next status update due" in page


def test_times_are_corrected_with_the_offending_field_named(browser, walk):
    incident = walk("closed")
    form = dict.fromkeys((), "")
    form.update({
        "impact_started_at": "2026-03-02T09:00", "detected_at": "2026-03-02T09:05", "reported_at": "2026-03-02T09:10",
        "acknowledged_at": "2026-03-02T09:20", "declared_at": "2026-03-02T09:20", "team_assembled_at": "2026-03-02T09:30",
        "restored_at": "2026-03-02T09:25", "validated_at": "2026-03-02T11:30", "closed_at": "2026-03-02T12:20",
    })  # fmt: skip
    page = browser.post(f"/incidents/{incident.pk}/times/", form).content.decode()
    assert "Must not be earlier than team_assembled_at" in page
    form["restored_at"] = "2026-03-02T10:50"
    assert (
        browser.post(f"/incidents/{incident.pk}/times/", {**form, "reason": "bridge log"}).status_code == 302
    )
    assert Incident.objects.get(pk=incident.pk).restored_at == at(110)


def test_readers_see_no_action_buttons_and_cannot_post(client, people, walk):
    incident = walk("declared")
    client.force_login(people["leader"])
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Service restored</button>" not in page and "Add to timeline" not in page
    assert "Log incident" not in client.get("/incidents/").content.decode()
    response = client.post(f"/incidents/{incident.pk}/do/restore/", follow=True)
    assert "Only incident managers and admins" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).state == "declared"
    assert client.get("/incidents/new/").status_code == 302


def test_metrics_page_has_charts_and_a_table(browser, walk):
    walk("closed", restore=60)
    walk("closed", start=-40 * 24 * 60, restore=120)
    page = browser.get("/incidents/metrics/").content.decode()
    assert page.count("<svg") == 3
    assert "Median time to restore (minutes)" in page
    restore_row = page.split("<th>Time to restore</th>")[1].split("</tr>")[0]
    assert '<td class="num">90.0</td>' in restore_row  # median of 60 and 120
    assert "<td>2026-01</td>" in page and "<td>2026-03</td>" in page
    filtered = browser.get("/incidents/metrics/?date_from=2026-03-01").content.decode()
    assert "<td>2026-01</td>" not in filtered


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get("/incidents/").status_code == 302


def test_role_assignment_from_the_page(browser, walk, people):
    incident = walk("declared")
    browser.post(f"/incidents/{incident.pk}/roles/", {"role": RoleKind.RECORDER, "user": people["mim2"].pk})
    assert incident.roles.get(role=RoleKind.RECORDER).user == people["mim2"]


def test_the_next_update_countdown_refreshes_and_turns_red(browser, walk):
    incident = walk("declared")
    html = browser.get(f"/incidents/{incident.pk}/?partial=next-update").content.decode()
    assert 'hx-trigger="every 30s"' in html
    assert "light-red" in html and "Status update overdue" in html


def test_the_list_page_query_count_does_not_grow_with_rows(browser, walk, django_assert_max_num_queries):
    walk("declared")
    with django_assert_max_num_queries(20) as few:
        browser.get("/incidents/")
    for i in range(1, 9):
        walk("declared" if i % 2 else "closed", start=i * 400)
    with django_assert_max_num_queries(len(few.captured_queries)):
        browser.get("/incidents/")


def test_correcting_an_entry_from_the_page(browser, walk, mim):
    incident = walk("declared")
    wrong = services.timeline_entry_add(incident=incident, by=mim, kind="action", text="Restarted DB1")
    page = browser.get(f"/incidents/{incident.pk}/?correct={wrong.pk}").content.decode()
    assert "Correcting the action entry" in page and f'value="{wrong.pk}"' in page
    browser.post(
        f"/incidents/{incident.pk}/timeline/",
        {"kind": "correction", "text": "It was DB2", "corrects": wrong.pk},
    )
    page = browser.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Restarted DB1" in page and "It was DB2" in page and "Corrected <a" in page
