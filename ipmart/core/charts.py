"""Bar charts drawn on the server as SVG geometry (no chart script; the CSP forbids inline
script and the page needs none). The template `admin/_bar_chart.html` draws the result."""

from dataclasses import dataclass


@dataclass
class Bar:
    label: str
    value: int
    text: str  # the value as shown (e.g. ringgit)
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    horizontal: bool
    empty_text: str = ""
    total_text: str = ""


def column_chart(title, points, *, fmt=str, width=600, height=160, label_every=5) -> BarChart:
    """Vertical bars, one per (label, value) point, left to right (e.g. sales per day)."""
    top = max((value for _, value in points), default=0) or 1
    plot_height = height - 20
    step = width / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = round(plot_height * value / top, 1)
        bars.append(
            Bar(
                label=label if index % label_every == 0 else "",
                value=value,
                text=f"{label}: {fmt(value)}",
                x=round(index * step + 1, 1),
                y=round(plot_height - bar_height, 1),
                width=round(max(step - 2, 1), 1),
                height=bar_height,
                label_x=round(index * step + 1, 1),
                label_y=height - 4,
            )
        )
    return BarChart(title=title, bars=bars, width=width, height=height, horizontal=False)


def row_chart(title, points, *, fmt=str, width=600, row_height=22, label_width=220) -> BarChart:
    """Horizontal bars, one row per (label, value) point, top to bottom (e.g. top products)."""
    top = max((value for _, value in points), default=0) or 1
    plot_width = width - label_width - 110
    bars = []
    for index, (label, value) in enumerate(points):
        bar_width = round(plot_width * value / top, 1)
        y = index * row_height
        bars.append(
            Bar(
                label=str(label)[:32],
                value=value,
                text=fmt(value),
                x=label_width,
                y=y + 3,
                width=max(bar_width, 1),
                height=row_height - 6,
                label_x=label_width + max(bar_width, 1) + 6,
                label_y=y + row_height - 7,
            )
        )
    height = max(len(points), 1) * row_height
    return BarChart(title=title, bars=bars, width=width, height=height, horizontal=True)
