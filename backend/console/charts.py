"""Small server-rendered SVG charts: horizontal bars and columns over time, each with a table.

Every chart is a ``Chart``: its SVG (titled and labelled for screen readers), the same
numbers as table rows for the chart's table view, and those rows as CSV. The SVG scales to
its box through its viewBox; 400 units wide keeps 12-unit text readable on a phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH = 400
ROW = 26
LABEL_W = 120
VALUE_W = 100
COLUMNS_H = 180
AXIS = 22


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str


@dataclass
class Chart:
    """One chart: what it shows, its SVG, and its numbers for the table and the CSV."""

    key: str
    title: str
    summary: str
    header: list[str]
    rows: list[list[str]]
    svg: Markup = field(default_factory=Markup)

    @property
    def empty(self) -> bool:
        return not self.rows


def _open(key: str, title: str, summary: str, height: int) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" preserveAspectRatio="xMidYMin meet">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(summary)}</desc>'
    )


def bars(
    key: str, title: str, summary: str, items: Sequence[Bar], top: float | None = None
) -> Markup:
    """Horizontal bars, one per item, longest for the largest value (or ``top``)."""
    height = max(len(items), 1) * ROW + 4
    longest = max([top or 0.0, *(abs(i.value) for i in items)]) or 1.0
    span = WIDTH - LABEL_W - VALUE_W
    parts = [_open(key, title, summary, height)]
    for n, item in enumerate(items):
        y = n * ROW + 2
        length = max(abs(item.value) / longest * span, 1.0 if item.value else 0.0)
        parts.append(
            f'<g class="bar"><title>{escape(item.label)}: {escape(item.text)}</title>'
            f'<text class="bar-label" x="{LABEL_W - 6}" y="{y + 17}" text-anchor="end">'
            f"{escape(_clip(item.label, 18))}</text>"
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" rx="2"/>'
            f'<text class="bar-value" x="{LABEL_W + length + 4:.1f}" y="{y + 17}">'
            f"{escape(item.text)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text put in is escaped above


def columns(
    key: str,
    title: str,
    summary: str,
    items: Sequence[Bar],
    line: Sequence[float] | None = None,
    line_label: str = "",
) -> Markup:
    """Vertical columns in order (a time axis), with an optional second series as a line.

    The line has its own scale, 0 to its largest value, so both shapes can be compared.
    """
    inner = COLUMNS_H - AXIS
    step = WIDTH / max(len(items), 1)
    tallest = max([abs(i.value) for i in items] + [0.0]) or 1.0
    parts = [_open(key, title, summary, COLUMNS_H)]
    parts.append(f'<line class="axis" x1="0" y1="{inner}" x2="{WIDTH}" y2="{inner}"/>')
    every = max(len(items) // 6, 1)
    for n, item in enumerate(items):
        high = item.value / tallest * (inner - 14)
        x = n * step
        parts.append(
            f'<g class="bar"><title>{escape(item.label)}: {escape(item.text)}</title>'
            f'<rect x="{x + step * 0.15:.1f}" y="{inner - high:.1f}" width="{step * 0.7:.1f}" '
            f'height="{high:.1f}"/></g>'
        )
        if n % every == 0:
            middle = min(max(x + step / 2, 32.0), WIDTH - 32.0)  # whole labels at the edges
            parts.append(
                f'<text class="tick" x="{middle:.1f}" y="{COLUMNS_H - 6}" '
                f'text-anchor="middle">{escape(_clip(item.label, 10))}</text>'
            )
    if line and any(line):
        peak = max(line) or 1.0
        points = " ".join(
            f"{n * step + step / 2:.1f},{inner - v / peak * (inner - 14):.1f}"
            for n, v in enumerate(line)
        )
        parts.append(
            f'<polyline class="line" points="{points}"><title>{escape(line_label)}</title>'
            "</polyline>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text put in is escaped above


def _clip(label: str, room: int = 20) -> str:
    return label if len(label) <= room else label[: room - 1] + "…"
