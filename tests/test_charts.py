from config.charts import bar_chart, line_chart


def test_bar_chart_is_escaped_svg_with_one_bar_per_value_and_a_table():
    chart = bar_chart("Cost & <more>", ["2026-01", "2026-02", "<b>"], {"EUR": [3, None, 134100.0]})
    svg = str(chart.svg)
    assert svg.startswith("<svg") and svg.count("<rect x=") == 2 + 1  # two bars and one legend swatch
    assert "Cost &amp; &lt;more&gt;" in svg and "<b>" not in svg
    assert ">134k<" in svg  # compact axis label
    assert chart.rows == [["2026-01", "3"], ["2026-02", "–"], ["<b>", "134k"]]


def test_line_chart_without_data_draws_no_line():
    chart = line_chart("Nothing", [], {"median": []})
    assert "<polyline" not in str(chart.svg)
    assert chart.rows == []
