"""Server-side geometry of the dashboard page's SVG bar charts: no JavaScript, no colour-only cues.

Each series is told apart by a pattern (solid, hatched, dotted) and named in a legend, and every bar carries its
figure as text; a figure with no bar (suppressed "<5" or withheld) still prints its text where the bar would be.
Presentation only: the figures come from api.dashboards.page_figures, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# (fill pattern key, legend swatch description) per series, in order: shapes and patterns, not colour alone.
PATTERNS = ("solid", "hatch", "dots")


@dataclass(frozen=True)
class Point:
    """One figure: its size for the bar (None draws no bar) and the text printed for it."""

    value: float | None
    text: str


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    pattern: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    css: str = "value"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    width: int
    height: int
    bars: tuple[Rect, ...]
    texts: tuple[Text, ...]
    axes: tuple[Line, ...]
    legend: tuple[tuple[str, str], ...]  # (pattern, series name)


def _scale_max(values: Sequence[float]) -> float:
    largest = max((abs(value) for value in values), default=0.0)
    return largest if largest > 0 else 1.0


def _short(number: float) -> str:
    return f"{number:.3g}"


def column_chart(
    *,
    key: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    width: int = 960,
    height: int = 340,
) -> Chart:
    """Vertical bars grouped by category, one bar per series, the figure printed above each bar."""
    left, right, top, bottom = 70, 16, 28, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    values = [point.value for item in series for point in item.points if point.value is not None]
    ceiling = y_max if y_max is not None else _scale_max(values)
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    bars, texts = [], []
    for index, category in enumerate(categories):
        start = left + slot * index + slot * 0.1
        texts.append(Text(left + slot * index + slot / 2, base + 18, category, css="tick"))
        for number, item in enumerate(series):
            point = item.points[index]
            x = start + bar_w * number
            height_px = 0.0 if point.value is None else max(point.value, 0.0) / ceiling * plot_h
            if height_px > 0:
                bars.append(Rect(x, base - height_px, bar_w, height_px, PATTERNS[number % len(PATTERNS)]))
            texts.append(Text(x + bar_w / 2, base - height_px - 5, point.text))
    texts += [
        Text(left - 8, base + 4, "0", anchor="end", css="tick"),
        Text(left - 8, top + 4, _short(ceiling), anchor="end", css="tick"),
        Text(left + plot_w / 2, height - 12, x_label, css="axis-label"),
        Text(16, top + plot_h / 2, y_label, css="axis-label axis-label-y"),
    ]
    axes = (Line(left, top, left, base), Line(left, base, left + plot_w, base))
    legend = tuple((PATTERNS[number % len(PATTERNS)], item.name) for number, item in enumerate(series))
    return Chart(key, title, description, width, height, tuple(bars), tuple(texts), axes, legend)


def bar_chart(
    *,
    key: str,
    title: str,
    description: str,
    categories: Sequence[str],
    points: Sequence[Point],
    x_label: str,
    y_label: str,
    width: int = 960,
    row: int = 36,
) -> Chart:
    """Horizontal bars from a zero line (negative to the left), the figure printed at each bar's end."""
    left, right, top, bottom = 230, 90, 16, 56
    height = top + bottom + row * max(len(categories), 1)
    plot_w = width - left - right
    values = [point.value for point in points if point.value is not None]
    ceiling = _scale_max(values)
    has_negative = any(value < 0 for value in values)
    zero = left + (plot_w / 2 if has_negative else 0)
    span = plot_w / 2 if has_negative else plot_w
    bars, texts = [], []
    for index, (category, point) in enumerate(zip(categories, points, strict=True)):
        y = top + row * index
        texts.append(Text(left - 8, y + row / 2 + 4, category, anchor="end", css="tick"))
        length = 0.0 if point.value is None else abs(point.value) / ceiling * span
        negative = point.value is not None and point.value < 0
        if length > 0:
            bars.append(Rect(zero - length if negative else zero, y + 6, length, row - 12, PATTERNS[0]))
        if negative:
            texts.append(Text(zero - length - 6, y + row / 2 + 4, point.text, anchor="end"))
        else:
            texts.append(Text(zero + length + 6, y + row / 2 + 4, point.text, anchor="start"))
    base = top + row * max(len(categories), 1)
    texts += [
        Text(zero, base + 18, "0", css="tick"),
        Text(zero + span, base + 18, _short(ceiling), css="tick"),
        Text(left + plot_w / 2, height - 10, x_label, css="axis-label"),
        Text(12, top - 4 if top > 12 else 12, y_label, anchor="start", css="axis-label"),
    ]
    if has_negative:
        texts.append(Text(zero - span, base + 18, _short(-ceiling), css="tick"))
    axes = (Line(zero, top, zero, base), Line(left, base, left + plot_w, base))
    return Chart(key, title, description, width, height, tuple(bars), tuple(texts), axes, ((PATTERNS[0], x_label),))
