"""The drift chart: a metric's windows as points over time, with the band drawn across."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from thirdbook.domain.drift import DriftSeries
from thirdbook.tui.safe_text import safe

PLOT_ROWS = 5
AXIS = 7  # characters for the value labels on the left


def _fmt(value: float) -> str:
    return f"{value:.3g}"[: AXIS - 1].rjust(AXIS - 1)


def _band(series: DriftSeries) -> str:
    if series.low is not None and series.high is not None:
        return f"{series.low:g} to {series.high:g}"
    return f"≥ {series.low:g}" if series.low is not None else f"≤ {series.high:g}"


def chart_text(series: DriftSeries, width: int, rows: int = PLOT_ROWS) -> Text:
    """The chart as text: a title line, then `rows` plot rows, newest window on the right.

    Points inside the band are `●`, outside it `✕` (bold); the band's edges are `─` lines.
    It reads the same without colour.
    """
    points = series.points[-max(1, width - AXIS) :]
    values = [p.value for p in points]
    edges = [e for e in (series.low, series.high) if e is not None]
    text = safe(series.title, 60, style="bold")
    text.append(f" · band {_band(series)}")
    if not values:
        text.append(" · no windows logged yet\n")
        return text
    latest = values[-1]
    text.append(f" · latest {latest:.3g}")
    text.append(
        " OUTSIDE" if series.outside(latest) else " inside",
        style="bold reverse" if series.outside(latest) else "",
    )
    text.append(f" · {len(values)} windows\n")
    top, bottom = max([*values, *edges]), min([*values, *edges])
    # Values near the largest double are scaled down first: their distance would overflow.
    scale = max(abs(top), abs(bottom)) if max(abs(top), abs(bottom)) > 1e300 else 1.0
    top, bottom = top / scale, bottom / scale
    span = (top - bottom) or 1.0
    top, bottom = top + span * 0.05, bottom - span * 0.05

    def row_of(value: float) -> int:
        return round((top - value / scale) / (top - bottom) * (rows - 1))

    edge_rows = {row_of(e): e for e in edges}
    grid = [[" "] * len(values) for _ in range(rows)]
    for row, _ in edge_rows.items():
        grid[row] = ["─"] * len(values)
    outside = [series.outside(v) for v in values]
    for column, value in enumerate(values):
        grid[row_of(value)][column] = "✕" if outside[column] else "●"
    for row in range(rows):
        if row in edge_rows:
            label = _fmt(edge_rows[row])
        elif row == 0:
            label = _fmt(top * scale)
        elif row == rows - 1:
            label = _fmt(bottom * scale)
        else:
            label = " " * (AXIS - 1)
        text.append(f"{label}│", style="dim")
        for char in grid[row]:
            if char == "✕":
                text.append(char, style="bold red")
            elif char == "●":
                text.append(char, style="green")
            else:
                text.append(char, style="dim")
        if row < rows - 1:
            text.append("\n")
    return text


class DriftChart(Widget):
    """Shows the series of the selected drift alert; hidden when there is none."""

    DEFAULT_CSS = """
    DriftChart { height: 6; padding: 0 1; }
    DriftChart.hidden { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="hidden")
        self.series: DriftSeries | None = None

    def show(self, series: DriftSeries | None) -> None:
        """Draw `series`, or hide the chart."""
        self.series = series
        self.set_class(series is None, "hidden")
        self.refresh()

    def render(self) -> Text:
        if self.series is None:
            return Text()
        rows = max(2, self.size.height - 1)
        return chart_text(self.series, max(AXIS + 1, self.size.width), rows)
