"""Charts of the dashboard as plain geometry, drawn as inline SVG by a template.

Hand-drawn rather than a chart library: the dashboard needs bars and lines only, and inline SVG with classes
styled from our own stylesheet reads without JavaScript under a strict Content-Security-Policy (pygal, the
obvious library, inlines <style> and links a tooltip script by default, both of which that policy refuses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 240
LEFT = 40
BOTTOM = 40
TOP = 16
RIGHT = 16
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float

    @property
    def shown(self) -> str:
        """The value as written on the bar: whole numbers plainly, averages to one decimal."""
        return str(int(self.value)) if float(self.value).is_integer() else f"{self.value:.1f}"


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # "x,y x,y ..." for <polyline>
    series: int  # which colour class
    last: int


@dataclass(frozen=True)
class Tick:
    label: str
    x: float


@dataclass
class Chart:
    """A chart ready to draw: its title, its scale, and bars or lines in SVG coordinates."""

    title: str
    top_value: int
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = PLOT_WIDTH
    plot_height: int = PLOT_HEIGHT

    @property
    def baseline(self) -> int:
        return self.top + self.plot_height

    @property
    def description(self) -> str:
        """The chart's figures in words, for screen readers and as the SVG's <desc>."""
        if self.bars:
            return "; ".join(f"{bar.label}: {bar.shown}" for bar in self.bars)
        return "; ".join(f"{line.name}: {line.last} now" for line in self.lines)


def _scale(values: list[float]) -> int:
    """A round top for the axis, at least 1 so an empty chart still draws."""
    top = math.ceil(max([1.0, *values]))
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if top <= step * 5:
            return -(-top // step) * step
    return top


def bar_chart(title: str, values: list[tuple[str, float]]) -> Chart:
    top = _scale([value for _, value in values])
    slot = PLOT_WIDTH / max(1, len(values))
    chart = Chart(title, top)
    for index, (label, value) in enumerate(values):
        height = PLOT_HEIGHT * value / top
        x = LEFT + slot * index + slot * 0.15
        chart.bars.append(
            Bar(label, value, round(x, 1), round(TOP + PLOT_HEIGHT - height, 1), round(slot * 0.7, 1), round(height, 1))
        )
        chart.ticks.append(Tick(label, round(LEFT + slot * index + slot / 2, 1)))
    return chart


def line_chart(title: str, labels: list[str], series: dict[str, list[int]]) -> Chart:
    top = _scale([float(value) for values in series.values() for value in values])
    step = PLOT_WIDTH / max(1, len(labels) - 1)
    chart = Chart(title, top)
    for index, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{round(LEFT + step * i, 1)},{round(TOP + PLOT_HEIGHT - PLOT_HEIGHT * value / top, 1)}"
            for i, value in enumerate(values)
        )
        chart.lines.append(Line(name, points, index % 4, values[-1] if values else 0))
    # Every other week's label, so twelve of them fit under a phone-wide chart.
    chart.ticks = [
        Tick(label, round(LEFT + step * i, 1)) for i, label in enumerate(labels) if (len(labels) - 1 - i) % 2 == 0
    ]
    return chart
