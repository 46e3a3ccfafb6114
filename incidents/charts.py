"""Small server-side SVG charts for the metrics page (no JavaScript; the same markup prints)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 36


def bar_chart(points: Sequence[tuple[str, float | None]], *, title: str, unit: str = "") -> SafeString:
    """Vertical bars, one per (label, value); missing values leave a gap. Labelled for screen readers."""
    values = [v for _, v in points if v is not None]
    top = max(values, default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" class="axis"/>',
    ]
    for fraction in (0.5, 1.0):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_num(top * fraction)}</text>'
        )
    for i, (label, value) in enumerate(points):
        x = LEFT + i * step
        if value is not None:
            h = plot_h * value / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="bar"><title>{}: {} {}</title></rect>',
                    f"{x + step * 0.15:.1f}",
                    f"{TOP + plot_h - h:.1f}",
                    f"{step * 0.7:.1f}",
                    f"{h:.1f}",
                    label,
                    _num(value),
                    unit,
                )  # fmt: skip
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>',
                f"{x + step / 2:.1f}",
                HEIGHT - BOTTOM + 16,
                label[2:] if len(label) == 7 else label,
            )  # fmt: skip
        )
    parts.append("</svg>")
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every dynamic part is escaped above


def _num(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"
