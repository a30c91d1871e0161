"""The drift chart: a metric's windows as points over time, with the band drawn across, the
incident's windows kept in view and the times under them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget

from thirdbook.tui.clock_text import hms
from thirdbook.tui.safe_text import safe

if TYPE_CHECKING:
    from thirdbook.domain.drift import DriftSeries

PLOT_ROWS = 4
AXIS = 7  # characters for the value labels on the left
LEAD = 2
"""Windows shown before the incident's first bad one, so the change into it shows."""
BREAK = ":"


def _fmt(value: float) -> str:
    return f"{value:.3g}"[: AXIS - 1].rjust(AXIS - 1)


def _band(series: DriftSeries) -> str:
    if series.low is not None and series.high is not None:
        return f"{series.low:g} to {series.high:g}"
    return f"≥ {series.low:g}" if series.low is not None else f"≤ {series.high:g}"


def _columns(series: DriftSeries, cols: int) -> list[int | None]:
    """The window each of `cols` columns shows, oldest on the left (None: a break, where
    windows are left out or the logs have a hole). The newest windows are on the right; when
    they would push the incident's windows off the chart, those stay on the left (from
    `LEAD` windows before its first bad one), then a break, then the newest."""
    count, holes = len(series.points), series.holes()

    def forward(start: int, width: int) -> list[int | None]:
        out: list[int | None] = []
        for i in range(start, count):
            cut = bool(out) and i in holes
            if len(out) + 1 + cut > width:
                break
            out.extend([None, i] if cut else [i])
        return out

    def backward(end: int, width: int) -> list[int | None]:
        out: list[int | None] = []
        for i in range(end, -1, -1):
            cut = bool(out) and i + 1 in holes
            if len(out) + 1 + cut > width:
                break
            out.extend([None, i] if cut else [i])
        return out[::-1]

    newest = backward(count - 1, cols)
    held = series.held()
    if held is None or not newest or (newest[0] or 0) <= max(0, held[0] - LEAD):
        return newest  # the incident's windows are in view (or there are none)
    keep_from = max(0, held[0] - LEAD)
    right_min = max(3, cols // 3)
    if cols - 1 - right_min < 2:
        return newest
    left = forward(keep_from, cols - 1 - right_min)
    while left and (left[-1] is None or left[-1] > held[1]):
        left.pop()  # the incident's windows, and no more: the rest of the width is the newest's
    last = max((i for i in left if i is not None), default=-1)
    right = [i for i in backward(count - 1, cols - 1 - len(left)) if i is None or i > last]
    while right and right[0] is None:
        right.pop(0)
    if not left or not right:
        return newest
    return [*left, None, *right]


def _put(row: list[str], start: int, label: str) -> bool:
    """Write `label` into `row` at `start` if that stretch (and a space either side) is free."""
    end = start + len(label)
    if start < 0 or end > len(row):
        return False
    if any(c != " " for c in row[max(0, start - 1) : min(len(row), end + 1)]):
        return False
    row[start:end] = label
    return True


def _time_row(series: DriftSeries, columns: list[int | None], width: int) -> Text:
    """Times under the plot, `width` wide: a caret under the incident's first bad window with
    its time (first), the first and last column's times, and the time after the first break
    (where room is left)."""
    shown = [i for i in columns if i is not None]
    edges = []
    if shown:
        edges.append((0, hms(series.points[shown[0]].at)))
        last = hms(series.points[shown[-1]].at)
        edges.append((len(columns) - len(last), last))
    held = series.held()
    caret: list[tuple[int, str]] = []
    if held is not None and held[0] in columns:
        at, when = columns.index(held[0]), hms(series.points[held[0]].at)
        right, left = f"^ first outside {when}", f"first outside {when} ^"
        caret = [(at, right), (at - len(left) + 1, left)]
    row = [" "] * max(width, len(columns))
    for start, label in edges:
        _put(row, start, label)
    placed = next(((s, t) for s, t in caret if _put(row, s, t)), None)
    if placed is None and caret:  # the caret's time matters most: drop edge times for it
        row = [" "] * len(row)
        placed = next(((s, t) for s, t in caret if _put(row, s, t)), None)
        for start, label in edges:
            _put(row, start, label)
    if None in columns and columns.index(None) + 1 < len(columns):
        after = columns.index(None) + 1
        _put(row, after, hms(series.points[columns[after] or 0].at))
    line = "".join(row).rstrip()
    text = Text(" " * AXIS)
    if placed is None:
        text.append(line, style="dim")
        return text
    start, end = placed[0], placed[0] + len(placed[1])
    text.append(line[:start], style="dim")
    text.append(line[start:end], style="bold")
    text.append(line[end:], style="dim")
    return text


def _title(series: DriftSeries, width: int) -> Text:
    """The title line, within `width`: what, the band, the latest window, how many."""
    text = safe(series.title, 60, style="bold")
    text.append(f" · band {_band(series)}")
    if not series.points:
        text.append(" · no windows logged yet")
        return text
    latest = series.points[-1].value
    text.append(f" · latest {latest:.3g}")
    text.append(
        " OUTSIDE" if series.outside(latest) else " inside",
        style="bold reverse" if series.outside(latest) else "",
    )
    count = f" · {len(series.points)} windows"
    if text.cell_len + len(count) <= width:
        text.append(count)
    text.truncate(width)
    return text


def chart_text(series: DriftSeries, width: int, rows: int = PLOT_ROWS, times: bool = True) -> Text:
    """The chart as text: a title line, `rows` plot rows, newest window on the right, then
    (with `times`) a row of times under them; the incident's windows stay in view.

    Points inside the band are `●`, outside it `✕` (bold); the band's edges are `─` lines; a
    column of `:` is a break (windows left out, or a hole in the logs). It reads the same
    without colour.
    """
    text = _title(series, width)
    if not series.points:
        text.append("\n")
        return text
    text.append("\n")
    columns = _columns(series, max(1, width - AXIS))
    values = [series.points[i].value for i in columns if i is not None]
    edges = [e for e in (series.low, series.high) if e is not None]
    top, bottom = max([*values, *edges]), min([*values, *edges])
    # Values near the largest double are scaled down first: their distance would overflow.
    scale = max(abs(top), abs(bottom)) if max(abs(top), abs(bottom)) > 1e300 else 1.0
    top, bottom = top / scale, bottom / scale
    span = (top - bottom) or 1.0
    top, bottom = top + span * 0.05, bottom - span * 0.05

    def row_of(value: float) -> int:
        return round((top - value / scale) / (top - bottom) * (rows - 1))

    edge_rows = {row_of(e): e for e in edges}
    grid = [[" "] * len(columns) for _ in range(rows)]
    for row in edge_rows:
        grid[row] = ["─"] * len(columns)
    for column, index in enumerate(columns):
        if index is None:
            for row in range(rows):
                grid[row][column] = BREAK
            continue
        value = series.points[index].value
        grid[row_of(value)][column] = "✕" if series.outside(value) else "●"
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
        if row < rows - 1 or times:
            text.append("\n")
    if times:
        text.append_text(_time_row(series, columns, max(1, width - AXIS)))
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
        below = self.size.height - 1  # the lines under the title
        times = below >= 3  # a row of times, as long as two plot rows are left
        rows = max(2, below - 1 if times else below)
        return chart_text(self.series, max(AXIS + 1, self.size.width), rows, times)
