"""Server-rendered SVG charts for the overview: one column per minute, with the axis maximum and a text
equivalent, so the page needs no chart library and reads without JavaScript."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, MARGIN = 600, 140, 28


@dataclass(frozen=True, slots=True)
class Series:
    """Counts per minute, oldest first, with the labels (times) of the minutes."""

    name: str
    labels: Sequence[str]
    values: Sequence[int]

    @property
    def total(self) -> int:
        return sum(self.values)


def column_chart(series: Series, css_class: str) -> Markup:
    """A column chart of ``series`` as inline SVG with a title and an accessible description."""
    top = max(series.values, default=0) or 1
    count = max(len(series.values), 1)
    step = (WIDTH - MARGIN) / count
    columns = []
    for index, (label, value) in enumerate(zip(series.labels, series.values, strict=True)):
        height = (HEIGHT - MARGIN) * value / top
        x = MARGIN + index * step
        y = HEIGHT - MARGIN / 2 - height
        columns.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 1, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
    description = f"{series.name}: {series.total} in the last {len(series.values)} minutes, at most {top} a minute."
    first = escape(series.labels[0]) if series.labels else ""
    last = escape(series.labels[-1]) if series.labels else ""
    svg = (
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(description)}" xmlns="http://www.w3.org/2000/svg">'
        f'<line class="axis" x1="{MARGIN}" y1="{HEIGHT - MARGIN / 2}" x2="{WIDTH}" y2="{HEIGHT - MARGIN / 2}"/>'
        f'<text x="0" y="12">{top}</text><text x="0" y="{HEIGHT - MARGIN / 2}">0</text>'
        f'<text x="{MARGIN}" y="{HEIGHT - 2}">{first}</text>'
        f'<text x="{WIDTH}" y="{HEIGHT - 2}" text-anchor="end">{last}</text>'
        f"{''.join(columns)}</svg>"
    )
    return Markup(svg)  # noqa: S704 - every interpolated text above is escaped
