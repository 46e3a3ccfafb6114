from incidents.charts import bar_chart


def test_bar_chart_is_escaped_svg_with_one_bar_per_value():
    svg = str(
        bar_chart([("2026-01", 3), ("2026-02", None), ("<b>", 134100.0)], title="Cost & <more>", unit="EUR")
    )
    assert svg.startswith("<svg") and svg.count('class="bar"') == 2
    assert "Cost &amp; &lt;more&gt;" in svg and "<b>" not in svg
    assert ">134k<" in svg  # compact axis label


def test_bar_chart_without_data():
    assert str(bar_chart([], title="Nothing")).count('class="bar"') == 0
