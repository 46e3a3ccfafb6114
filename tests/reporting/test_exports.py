import csv
import io

import pytest
from openpyxl import load_workbook

from measures import services as measure_services
from reporting.exports import safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"])
def test_formula_like_text_is_neutralised(text):
    assert safe_cell(text) == "'" + text


def test_numbers_stay_numbers():
    assert safe_cell(-5) == -5
    assert safe_cell("plain") == "plain"


@pytest.fixture
def measures(cast, tree):
    mine = measure_services.measure_create(
        by=cast["pm"], title='=HYPERLINK("http://evil","click")', objective="x", package=tree.package
    )
    other = measure_services.measure_create(
        by=cast["outsider"], title="Cloud thing", objective="y", package=tree.other_package
    )
    return mine, other


def test_csv_export_is_scope_filtered_and_injection_safe(client, cast, measures):
    client.force_login(cast["pm"])
    response = client.get("/exports/measures.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Code"
    titles = [row[1] for row in rows[1:]]
    assert titles == ['\'=HYPERLINK("http://evil","click")']


def test_xlsx_export_contains_the_same_rows(client, cast, measures):
    client.force_login(cast["leader"])
    response = client.get("/exports/measures.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    titles = sorted(row[1] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert titles == ['\'=HYPERLINK("http://evil","click")', "Cloud thing"]


def test_export_for_an_invisible_scope_is_404(client, cast, tree, measures):
    client.force_login(cast["pm"])
    assert client.get(f"/exports/measures.csv?scope={tree.other_program.pk}").status_code == 404
    assert client.get("/exports/measures.csv?scope=abc").status_code == 404
    assert client.get("/exports/nothing.csv").status_code == 404


def test_effect_values_export_lists_visible_values_only(client, cast, tree):
    from decimal import Decimal

    from measures.models import EffectLine, EffectValue

    mine = measure_services.measure_create(by=cast["pm"], title="Mine", objective="x", package=tree.package)
    theirs = measure_services.measure_create(
        by=cast["outsider"], title="T", objective="y", package=tree.other_package
    )
    for measure in (mine, theirs):
        line = EffectLine.objects.create(measure=measure, account="pl_cost", annual_potential=Decimal("1200"))
        EffectValue.objects.create(
            line=line, measure=measure, month="2026-01-01", series="plan", amount=Decimal("100.00")
        )
    client.force_login(cast["pm"])
    rows = list(
        csv.reader(io.StringIO(b"".join(client.get("/exports/effect-values.csv").streaming_content).decode()))
    )
    assert [row[0] for row in rows[1:]] == [mine.code]
    assert rows[1][4:7] == ["2026-01-01", "plan", "100.00"]
