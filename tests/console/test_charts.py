"""The SVG charts: labelled for screen readers, escaped, and sized by their values."""

from __future__ import annotations

from backend.console.charts import Bar, bars, columns
from tests.console.html import parse


def test_bars_are_titled_escaped_and_proportional() -> None:
    svg = bars(
        "t", "Lost <by> source", "two sources", [Bar("web & ads", 30, "30"), Bar("x", 15, "15")]
    )

    document = parse(svg)
    chart = document.tags("svg")[0]
    widths = [float(r.attrs["width"]) for r in document.tags("rect")]

    assert chart.attrs["role"] == "img"
    assert chart.attrs["aria-labelledby"] == "t-title t-desc"
    assert document.one("id", "t-title").text == "Lost <by> source"
    assert "&lt;by&gt;" in svg and "web &amp; ads" in svg
    assert widths == [180.0, 90.0]  # 400 wide less 120 for labels and 100 for values


def test_columns_scale_the_line_on_its_own_axis() -> None:
    svg = columns(
        "c", "Leads", "two days", [Bar("2026-01-01", 2, "2"), Bar("2026-01-02", 4, "4")], [50, 100]
    )

    document = parse(svg)
    heights = [float(r.attrs["height"]) for r in document.tags("rect")]

    assert heights == [72.0, 144.0]  # 180 high, less 22 for the axis and 14 of headroom
    assert document.tags("polyline")[0].attrs["points"] == "100.0,86.0 300.0,14.0"
