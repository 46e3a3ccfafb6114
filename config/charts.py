"""Server-side SVG charts: the same markup appears in pages and in WeasyPrint PDFs.

It lives in config/ (shared plumbing, like config/api.py) because incidents draws its metrics
page with it and must not import reporting (DESIGN §2 dependency rule).

A small module of our own instead of a plotting library: the charts we need are bars and lines,
the output must be plain SVG that WeasyPrint renders without JavaScript, and every chart must come
with a table of the same numbers for screen readers (ADR 0006).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
WIDTH, HEIGHT = 640, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 28, 48

Number = int | float | Decimal


@dataclass
class Chart:
    title: str
    svg: SafeString
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)


def _fmt(value: Number | None) -> str:
    if value is None:
        return "–"
    value = float(value)
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.0f}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _scale(values: list[float]) -> tuple[float, float]:
    low = min([0.0, *values])
    high = max([0.0, *values])
    if high == low:
        high = low + 1
    return low, high


def _frame(title: str, body: list[str], low: float, high: float, legend: list[str]) -> SafeString:
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = low + (high - low) * i / 4
        y = MARGIN_TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d9dee5" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{_fmt(value)}</text>'
        )
    parts.extend(body)
    x = MARGIN_LEFT
    for i, name in enumerate(legend):
        parts.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="15" fill="#222">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text node above is escaped)


def _y(value: float, low: float, high: float) -> float:
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    return MARGIN_TOP + plot_h - plot_h * (value - low) / (high - low)


def _x_labels(labels: list[str], step: float, offset: float) -> list[str]:
    every = max(1, -(-len(labels) // 7))  # at most seven labels, so they never overlap
    return [
        f'<text x="{MARGIN_LEFT + offset + i * step:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
        f'text-anchor="middle" fill="#444">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def bar_chart(title: str, labels: list[str], series: dict[str, list[Number | None]]) -> Chart:
    """Grouped bars: one group per label, one bar per series."""
    values = [float(v) for vs in series.values() for v in vs if v is not None]
    low, high = _scale(values)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    group_w = plot_w / max(1, len(labels))
    bar_w = group_w * 0.8 / max(1, len(series))
    body = []
    zero = _y(0, low, high)
    for s, (name, points) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(points):
            if value is None:
                continue
            top = _y(float(value), low, high)
            x = MARGIN_LEFT + i * group_w + group_w * 0.1 + s * bar_w
            body.append(
                f'<rect x="{x:.1f}" y="{min(top, zero):.1f}" width="{bar_w:.1f}" '
                f'height="{abs(zero - top):.1f}" fill="{colour}"><title>{escape(name)} · '
                f"{escape(labels[i])}: {_fmt(value)}</title></rect>"
            )
    body += _x_labels(labels, group_w, group_w / 2)
    return Chart(title, _frame(title, body, low, high, list(series)), ["", *series], _rows(labels, series))


def line_chart(title: str, labels: list[str], series: dict[str, list[Number | None]]) -> Chart:
    values = [float(v) for vs in series.values() for v in vs if v is not None]
    low, high = _scale(values)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    step = plot_w / max(1, len(labels) - 1) if len(labels) > 1 else 0
    body = []
    for s, (name, points) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        coords = [
            (MARGIN_LEFT + i * step, _y(float(v), low, high)) for i, v in enumerate(points) if v is not None
        ]
        if coords:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{escape(name)}</title></polyline>"
            )
            body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in coords]
    body += _x_labels(labels, step, 0)
    return Chart(title, _frame(title, body, low, high, list(series)), ["", *series], _rows(labels, series))


def _rows(labels: list[str], series: dict[str, list[Number | None]]) -> list[list[str]]:
    return [[label, *(_fmt(points[i]) for points in series.values())] for i, label in enumerate(labels)]
