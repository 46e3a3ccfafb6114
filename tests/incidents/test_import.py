"""Import of history: good file, bad row -> nothing created (API and command)."""

import json

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Incident, IncidentRole, TimelineEntry

GOOD = [
    {
        "reference": "OLD-101",
        "title": "Warehouse scanners offline",
        "severity": 1,
        "services": ["Payments"],
        "impact_started_at": "2025-11-03T08:00:00+00:00",
        "detected_at": "2025-11-03T08:06:00+00:00",
        "reported_at": "2025-11-03T08:10:00+00:00",
        "declared_at": "2025-11-03T08:20:00+00:00",
        "restored_at": "2025-11-03T10:00:00+00:00",
        "validated_at": "2025-11-03T10:30:00+00:00",
        "closed_at": "2025-11-04T09:00:00+00:00",
        "response_effort_hours": "14.5",
        "mim": "mim",
    },
    {
        "title": "Intranet search broken",
        "severity": 3,
        "services": ["Intranet"],
        "reported_at": "2025-12-01T09:00:00Z",
    },
]


def test_a_good_file_creates_every_incident_with_its_times(api, people, catalog):
    response = api.as_user(people["mim"]).post("/api/v1/incidents/import/", GOOD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] == 2
    assert [(row["reference"], row["state"]) for row in body["incidents"]] == [
        ("OLD-101", "closed"),
        ("MI-2025-0001", "reported"),
    ]
    old = Incident.objects.get(reference="OLD-101")
    assert old.restored_at.isoformat() == "2025-11-03T10:00:00+00:00"
    assert str(old.response_effort_hours) == "14.50"
    assert IncidentRole.objects.get(incident=old).user == people["mim"]
    assert TimelineEntry.objects.filter(incident=old, text__startswith="Imported from the API").exists()


def test_one_bad_row_refuses_the_file_and_creates_nothing(api, people, catalog):
    bad = [
        *GOOD,
        {"title": "", "severity": 7, "services": ["Nope"], "reported_at": "yesterday"},
        {
            "title": "Out of order",
            "reported_at": "2025-11-03T08:10:00Z",
            "detected_at": "2025-11-03T09:00:00Z",
        },
    ]
    response = api.as_user(people["mim"]).post("/api/v1/incidents/import/", bad, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "2 of 4 rows are invalid; nothing was imported."
    rows = body["errors"]["rows"]
    assert [row["row"] for row in rows] == [3, 4]
    assert set(rows[0]["errors"]) == {"title", "severity", "services", "reported_at"}
    assert rows[1]["errors"] == {
        "reported_at": ["Must not be earlier than detected_at (2025-11-03T09:00:00+00:00)."]
    }
    assert Incident.objects.count() == 0


def test_a_reference_already_present_is_a_row_error(api, people, catalog):
    client = api.as_user(people["mim"])
    assert client.post("/api/v1/incidents/import/", GOOD[:1], format="json").status_code == 201
    response = client.post("/api/v1/incidents/import/", GOOD[:1], format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["rows"][0]["errors"]["reference"] == [
        "Reference OLD-101 already exists."
    ]


def test_a_closed_state_without_its_times_is_refused(api, people, catalog):
    row = {"title": "x", "reported_at": "2025-11-03T08:10:00Z", "state": "closed"}
    response = api.as_user(people["mim"]).post("/api/v1/incidents/import/", [row], format="json")
    assert set(response.json()["errors"]["rows"][0]["errors"]) == {
        "declared_at",
        "restored_at",
        "validated_at",
        "closed_at",
    }


def test_only_incident_managers_import(api, people, catalog):
    response = api.as_user(people["leader"]).post("/api/v1/incidents/import/", GOOD, format="json")
    assert response.status_code == 403
    assert Incident.objects.count() == 0


def test_the_command_imports_a_file(tmp_path, people, catalog, capsys):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(GOOD))
    call_command("import_incidents", str(path), "--user", "mim")
    out = capsys.readouterr().out
    assert "created OLD-101 (closed)" in out and "Imported 2 incidents." in out
    assert Incident.objects.count() == 2


def test_the_command_reports_bad_rows_and_creates_nothing(tmp_path, people, catalog):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([*GOOD, {"title": "no time"}]))
    with pytest.raises(CommandError, match="row 3: reported_at: This field is required."):
        call_command("import_incidents", str(path), "--user", "mim")
    assert Incident.objects.count() == 0
