"""Every way a person or a script reads a store, run over one store, each checked not to
crash and to print only standard, terminal-safe JSON."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from thirdbook.cli import main
from thirdbook.config import Settings
from thirdbook.domain.rules import AgentLane, DriftRule, FeedbackRule, TriggerSettings
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.widgets.event_table import EventTable

RULES = TriggerSettings(
    drift=[DriftRule(name="acc band", model="m", metric="acc", low=0.5, high=1.0, consecutive=1)],
    feedback=[FeedbackRule(name="reports", count=2, window_s=2 * 86400)],
    lanes=[AgentLane(agent="agent", tools=["ok"], max_amount=10)],
)
"""One rule of each kind over the model `m`, its metric `acc` and the agent `agent`; the
feedback window is two days, long enough to reach past the end of time from year 9999."""
RULES_TOML = """
[[triggers.drift]]
name = "acc band"
model = "m"
metric = "acc"
low = 0.5
high = 1.0
consecutive = 1

[[triggers.feedback]]
name = "reports"
count = 2
window_s = 172800

[[triggers.lanes]]
agent = "agent"
tools = ["ok"]
max_amount = 10
"""
"""`RULES` as thirdbook.toml says them."""

READ_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("events", "--limit", "100000"),
    ("events", "--json", "--limit", "100000"),
    ("status",),
    ("status", "--json"),
    ("alerts", "--limit", "10000"),
    ("alerts", "--json", "--limit", "10000"),
    ("rejects", "--limit", "10000"),
    ("rejects", "--json", "--limit", "10000"),
    ("incidents", "--limit", "10000"),
    ("incidents", "--json", "--limit", "10000"),
    ("precision",),
    ("precision", "--json"),
    ("calibration",),
    ("calibration", "--json"),
    ("near-misses",),
    ("near-misses", "--json"),
    ("action-items",),
    ("action-items", "--json"),
    ("audit",),
    ("audit", "--json"),
    ("registry", "history"),
    ("registry", "history", "--json"),
)
INCIDENT_READ_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("timeline", "{incident}"),
    ("timeline", "{incident}", "--full"),
    ("timeline", "{incident}", "--json"),
)
"""Run for each incident `incidents --json` lists (when the store has any)."""
RAW_FORBIDDEN = ("\x1b", "\x07", "\x7f", "\u009b", "\u202e", "\u2066")
"""What must never reach the terminal raw from data (ESC, BEL, DEL, CSI, bidi overrides)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def strict_json(line: str) -> Any:
    """`line` parsed as standard JSON: NaN, Infinity and -Infinity raise."""
    return json.loads(line, parse_constant=_no_constant)


def run_command(data_dir: Path, *args: str) -> tuple[int, str, bytes]:
    """One command on the store in `data_dir`: exit code, text, stdout bytes. A Python
    exception (a traceback) fails the test at once."""
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], env={"COLUMNS": "160"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{' '.join(args)} crashed") from result.exception
    return result.exit_code, result.output, result.stdout_bytes


def read_everything(data_dir: Path) -> dict[str, str]:
    """Run every read command; each must exit 0, each JSON line must be standard JSON, and
    no output may carry a control or bidi character raw."""
    outputs: dict[str, str] = {}
    stdout = _read(data_dir, READ_COMMANDS, outputs)
    listed = [strict_json(x) for x in stdout["incidents --json --limit 10000"].splitlines()]
    for incident in listed[:3]:
        commands = tuple(
            tuple(a.format(incident=incident["id"]) for a in args)
            for args in INCIDENT_READ_COMMANDS
        )
        _read(data_dir, commands, outputs)
    return outputs


def _read(
    data_dir: Path, commands: tuple[tuple[str, ...], ...], outputs: dict[str, str]
) -> dict[str, str]:
    """Run `commands`, checking each; their output (stdout and stderr) goes in `outputs`,
    their stdout alone is returned."""
    stdout: dict[str, str] = {}
    for args in commands:
        code, text, raw = run_command(data_dir, *args)
        assert code == 0, f"{' '.join(args)} exited {code}: {text[-500:]}"
        printed = raw.decode("utf-8")
        for char in RAW_FORBIDDEN:
            assert char not in printed, f"{' '.join(args)} printed {char!r} raw"
        if "--json" in args:
            for line in printed.splitlines():
                strict_json(line)
                assert line.isascii(), f"{' '.join(args)} printed non-ASCII JSON"
        outputs[" ".join(args)] = text
        stdout[" ".join(args)] = printed
    return stdout


async def first_screen(store_path: Path, rules: TriggerSettings, *, rows: bool) -> None:
    """Open the console (read-only) on the store and let its first screen draw: the events,
    the alerts and the drift chart of the newest drift alert. It must not crash."""

    async def open_console() -> Services:
        return await open_services(
            Context.for_store(store_path, Settings(triggers=rules)), read_only=True
        )

    app = ThirdbookApp(open_console, ingest=False, subtitle="test")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(1500):
            await pilot.pause(0.02)
            if not rows or app.query_one(EventTable).row_count:
                break
        await pilot.pause(0.1)  # the alerts and the chart are drawn after the events
        assert not rows or app.query_one(EventTable).row_count, "no events shown"
    assert app.return_code in (None, 0), f"the console exited {app.return_code}"


def run_first_screen(store_path: Path, rules: TriggerSettings, *, rows: bool = True) -> None:
    """`first_screen` from synchronous code (a Hypothesis test)."""
    asyncio.run(first_screen(store_path, rules, rows=rows))
