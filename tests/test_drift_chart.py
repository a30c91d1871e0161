"""The drift chart keeps the incident's windows in view after recovery, with their times."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App, ComposeResult

from tests.helpers import source
from thirdbook.config import Settings
from thirdbook.domain.drift import DriftSeries
from thirdbook.domain.rules import DriftRule, TriggerSettings
from thirdbook.services.factory import Context, open_services
from thirdbook.tui.clock_text import hms
from thirdbook.tui.widgets.drift_chart import DriftChart, chart_text

T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
RULES = TriggerSettings(
    drift=[DriftRule(name="acc", model="credit-scorer", metric="accuracy", low=0.85)]
)
WINDOW = timedelta(seconds=10)
BEFORE, BAD, AFTER = 20, 8, 200
"""v6 in band, then v7's bad windows, then far more recovered v6 windows than a page holds."""


def _window(n: int, version: str, value: float) -> bytes:
    end = T0 + WINDOW * (n + 1)
    record = {
        "v": 1,
        "kind": "metric",
        "ts": end.isoformat(),
        "model": {"name": "credit-scorer", "version": version},
        "metric": "accuracy",
        "value": value,
        "window_start": (end - WINDOW).isoformat(),
        "window_end": end.isoformat(),
    }
    return json.dumps(record).encode() + b"\n"


async def _recovered_series(
    tmp_path: Path, drift: list[tuple[str, float]] | None = None, before: int = BEFORE
) -> DriftSeries:
    """Windows of v6 in band (`before` of them), then `drift` (v7's bad windows by default),
    then far more recovered v6 windows than a page holds; the drift alert's series."""
    log = tmp_path / "signals.jsonl"
    bad = [("v7", 0.74)] * BAD if drift is None else drift
    plan = [("v6", 0.93)] * before + bad + [("v6", 0.92)] * AFTER
    log.write_bytes(b"".join(_window(n, v, x) for n, (v, x) in enumerate(plan)))
    context = Context.for_store(tmp_path / "thirdbook.db", Settings(triggers=RULES))
    console = await open_services(context, ingest=True, sources=source(log))
    try:
        await console.ingest.run(asyncio.Event(), once=True)
        [alert] = [a for a in (await console.queries.alerts()).items if a.kind == "drift"]
        series = await console.queries.drift_series(alert)
    finally:
        await console.close()
    assert series is not None
    return series


def _plot(text: str) -> list[str]:
    return [line.partition("│")[2] for line in text.splitlines() if "│" in line]


async def test_after_recovery_the_chart_still_shows_every_red_window(tmp_path: Path) -> None:
    series = await _recovered_series(tmp_path)
    first_bad = T0 + WINDOW * (BEFORE + 1)
    assert all(not series.outside(p.value) for p in series.points[-120:])  # the newest page
    assert series.first_outside() is not None and series.first_outside().at == first_bad  # type: ignore[union-attr]
    for width, rows in ((78, 2), (78, 4), (198, 4)):
        text = chart_text(series, width, rows).plain
        plot = _plot(text)
        assert sum(row.count("✕") for row in plot) == BAD, text  # every one of them in view
        assert any(row.rstrip().endswith("●") for row in plot), text  # and the recovery
        assert f"first outside {hms(first_bad)}" in text.splitlines()[-1], text
        assert hms(T0 + WINDOW * (BEFORE + BAD + AFTER)) in text.splitlines()[-1], text
        assert "latest 0.92 inside" in text.splitlines()[0]
        assert all(len(line) <= width for line in text.splitlines()), text


def _marks(text: str) -> str:
    """What each plot column shows: `✕`, `●`, `:` (a break) or `─` (the band only)."""
    plot = _plot(text)
    marks = []
    for column in range(max(map(len, plot))):
        chars = {row[column] for row in plot if column < len(row)}
        marks.append(next((c for c in "✕●:─" if c in chars), " "))
    return "".join(marks)


async def test_the_incidents_windows_are_drawn_whole_in_band_ones_between_included(
    tmp_path: Path,
) -> None:
    bad, good = ("v7", 0.74), ("v7", 0.9)
    series = await _recovered_series(tmp_path, [bad, bad, bad, good, bad, bad, bad])
    text = chart_text(series, 78, 2).plain
    assert "●●✕✕✕●✕✕✕:●" in _marks(text), text  # two windows before, all of it, the newest


async def test_a_version_that_ran_long_in_band_before_drifting_keeps_its_incident_in_view(
    tmp_path: Path,
) -> None:
    """v7 in band for 300 windows, then bad: the chart shows the bad ones and the windows
    just before them (not v7's first windows, hours earlier), then the recovery."""
    series = await _recovered_series(tmp_path, [("v7", 0.9)] * 300 + [("v7", 0.74)] * BAD, before=0)
    first_bad = T0 + WINDOW * 301
    assert series.first_outside() is not None and series.first_outside().at == first_bad  # type: ignore[union-attr]
    text = chart_text(series, 78, 4).plain
    assert "●●✕✕✕✕✕✕✕✕:●" in _marks(text), text
    assert f"first outside {hms(first_bad)}" in text.splitlines()[-1], text


class _Chart(App[None]):
    CSS = "DriftChart { height: 4; }"  # as the main screen sizes it at 80x24

    def __init__(self, series: DriftSeries) -> None:
        super().__init__()
        self.series = series

    def compose(self) -> ComposeResult:
        yield DriftChart(id="drift")

    def on_mount(self) -> None:
        self.query_one(DriftChart).show(self.series)


async def test_the_chart_widget_at_its_short_height_keeps_the_red_windows_and_times(
    tmp_path: Path,
) -> None:
    """At 80x24 the main screen gives the chart four lines: a title, two plot rows and the
    row of times under them."""
    series = await _recovered_series(tmp_path)
    app = _Chart(series)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.query_one(DriftChart)
        lines = chart.render().plain.splitlines()
        assert len(lines) == chart.size.height == 4
        assert sum(line.count("✕") for line in lines[1:3]) == BAD
        assert f"first outside {hms(T0 + WINDOW * (BEFORE + 1))}" in lines[3]
