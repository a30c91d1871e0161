"""End to end: the real `thirdbook demo` in tmux at 80x24, driven by keys, read off the screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    """A tmux session running one command, with keys in and the screen out."""

    def __init__(self, command: list[str], width: int, height: int, env: dict[str, str]) -> None:
        self.env = env
        self.name = f"thirdbook-e2e-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        shell = f"env {exports} {' '.join(command)}; echo THIRDBOOK-EXITED-$?; sleep 30"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                shell,
            ],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        ).stdout

    def press(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def wait_for_match(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never matched; the screen was:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def _highlight_drift(terminal: Terminal) -> str:
    """Put the cursor on the drift alert (see `_highlight`). Returns its id."""
    return _highlight(terminal, "drift")


def _highlight(terminal: Terminal, kind: str, timeout: float = 60, *, newer: bool = False) -> str:
    """Put the cursor on the alert of `kind` as a person would: open the alert detail (`r`),
    read which alert it is, move (`j`/`k`) until it is the one, close the detail.
    Alerts keep arriving meanwhile; the cursor stays on the alert it is on. Returns its id."""
    deadline = time.monotonic() + timeout
    while True:  # a row out of sight below the few that show: j brings it, as a person would
        screen = terminal.screen()
        alerts = screen.split(" id  last")[1] if " id  last" in screen else ""
        if f" {kind} " in alerts.split("Events —")[0]:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} alert in sight; the screen was:\n{screen}")
        # A few rows show: a newer alert is reached with k (the title says when some are
        # out of sight above), an older one with j.
        if newer and "newer above" in screen:
            terminal.press("k")
        elif not newer and "Live triggers —" in screen and " open" in screen:
            terminal.press("j")
        time.sleep(0.4)
    rows = alerts.split("Events —")[0].splitlines()[1:]
    drift_id = next(row.split()[0] for row in rows if f" {kind} " in row)
    terminal.press("r")
    detail = re.compile(r"#(\d+) [^\n]*· first \d\d:\d\d")
    for _ in range(12):
        time.sleep(0.4)
        shown = detail.search(terminal.wait_for_match(detail.pattern))
        assert shown is not None
        if shown.group(1) == drift_id:
            break
        terminal.press("j" if int(shown.group(1)) > int(drift_id) else "k")  # newest first
    else:
        raise AssertionError(f"the cursor never reached alert #{drift_id}")
    terminal.press("r")
    time.sleep(0.4)
    return drift_id


def _demo(
    tmp_path: Path,
    width: int,
    height: int,
    extra: dict[str, str] | None = None,
    speed: float = 10,
) -> Terminal:
    env = {
        "THIRDBOOK_DATA_DIR": str(tmp_path / "data"),
        "THIRDBOOK_CONFIG": str(tmp_path / "thirdbook.toml"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **(extra or {}),
    }
    command = [sys.executable, "-m", "thirdbook.cli", "demo", "--speed", f"{speed:g}"]
    return Terminal(command, width, height, env)


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def demo_terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Terminal]:
    editor = tmp_path / "editor.sh"  # an "editor" that adds a step to the runbook it is given
    editor.write_text('#!/bin/sh\necho "- [ ] Added in the editor during the drill" >> "$1"\n')
    editor.chmod(0o755)
    env = {
        "EDITOR": str(editor),
        "THIRDBOOK_DATA_DIR": str(tmp_path / "data"),
        "THIRDBOOK_CONFIG": str(tmp_path / "thirdbook.toml"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    width, height = request.param
    terminal = Terminal(
        [sys.executable, "-m", "thirdbook.cli", "demo", "--speed", "10"], width, height, env
    )
    try:
        yield terminal
    finally:
        terminal.close()


def test_demo_shows_events_flowing_and_answers_keys(demo_terminal: Terminal) -> None:
    # How fast the first events appear is measured by tests/bench/console.py (first paint),
    # not here: on a busy machine it varies by seconds.
    screen = demo_terminal.wait_for("inference", timeout=30)
    assert "credit-scorer" in screen
    screen = demo_terminal.wait_for("ingesting here")
    assert "events " in screen and "rejects 0" in screen
    demo_terminal.wait_for("] older", timeout=20)  # more than one page by now
    demo_terminal.press("]")
    demo_terminal.wait_for("page 2, older events")
    demo_terminal.press("g")
    demo_terminal.wait_for("live, newest first")
    # The drift alert fires; declare an incident from it with keys and read the banner.
    drift_id = _highlight_drift(demo_terminal)
    demo_terminal.press("d")
    demo_terminal.wait_for(f"Declare an incident from alert #{drift_id}")
    demo_terminal.press("Enter")  # the title is prefilled with the alert's summary
    screen = demo_terminal.wait_for("INCIDENT #1")
    assert "No active incident" not in screen and "accuracy" in screen
    # Its runbook: check the first step; the timeline records it.
    demo_terminal.press("3")
    demo_terminal.wait_for("Model drift — 0/15 done")
    demo_terminal.press("j", "Space")
    demo_terminal.wait_for("Model drift — 1/15 done")
    demo_terminal.press("4")
    demo_terminal.wait_for("checked: Look at the drift chart")
    # An action item, from the keyboard: title, owner, due date.
    demo_terminal.press("i")
    demo_terminal.wait_for("New action item for incident #1")
    for keys in ("Add a pre-deploy accuracy check", "Enter", "alice", "Enter", "+7d", "Enter"):
        demo_terminal.press(keys)  # one at a time: a burst of text and Enter reads as a paste
        time.sleep(0.4)
    demo_terminal.press("5")
    demo_terminal.wait_for("pre-deploy accuracy check")
    screen = demo_terminal.wait_for("Action items: 1 open")  # its line follows the table
    assert "alice" in screen, screen
    # Edit the runbook in $EDITOR (the console suspends, then reloads it).
    demo_terminal.press("e")
    demo_terminal.press("3")
    demo_terminal.wait_for("1/16 done")
    demo_terminal.press("End")  # the new step is the last line of the runbook
    demo_terminal.wait_for("Added in the editor during the drill")
    # Snapshot first, then the kill switch: the serving layer then routes to a human.
    demo_terminal.press("2")
    demo_terminal.press("s")
    demo_terminal.wait_for("Evidence: snapshot #1")
    demo_terminal.press("K")
    demo_terminal.wait_for("KILL SWITCH for credit-scorer")
    demo_terminal.press("Enter")  # human review
    demo_terminal.wait_for("Kill switch written")
    demo_terminal.press("1")
    demo_terminal.wait_for(" human  req-")  # requests now routed to a human
    demo_terminal.press("C-l", "2")  # clear the messages; the incident panel
    demo_terminal.wait_for("observed")  # written, then observed in the serving logs
    # Roll back to the last known-good version, then route traffic back to the model.
    demo_terminal.press("R")
    demo_terminal.wait_for("ROLL BACK credit-scorer: v7 → v6")
    demo_terminal.press("Enter")
    time.sleep(0.5)
    demo_terminal.press("C-l")
    demo_terminal.wait_for("rollback → credit-scorer v6: written")
    demo_terminal.press("K")
    demo_terminal.wait_for("KILL SWITCH for credit-scorer (serving v6)")
    demo_terminal.press("Down", "Down", "Down")
    time.sleep(0.3)
    demo_terminal.press("Enter")  # model: route back to the model (recovery)
    demo_terminal.wait_for("kill switch → credit-scorer model: written")
    # The metric recovers: v6's windows are back inside the band on the drift chart.
    demo_terminal.press("C-l", "1")
    screen = demo_terminal.wait_for("accuracy v6→v7→v6", timeout=30)
    screen = demo_terminal.wait_for("inside", timeout=30)
    assert "OUTSIDE" not in screen.split("accuracy v6→v7→v6")[1].splitlines()[0], screen
    demo_terminal.press("q")
    demo_terminal.wait_for("THIRDBOOK-EXITED-0")
    # What was done verifies: the audit chain and every evidence object.
    verified = subprocess.run(
        [sys.executable, "-m", "thirdbook.cli", "--demo", "verify"],
        env={**os.environ, **demo_terminal.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert "evidence ok: 1 complete snapshot(s)" in verified.stdout


def test_an_action_item_typed_at_full_speed_lands_in_its_fields(tmp_path: Path) -> None:
    """`i`, then title, tab, owner, tab, due, enter in one burst: each key lands in the
    field it was typed for (the title has letters that are keys on the main screen: `e`
    edits the runbook, `p` changes the phase, `q` quits)."""
    terminal = _demo(tmp_path, 80, 24)
    try:
        terminal.wait_for_match(r"Live triggers — \d+ open", timeout=60)  # the cursor is on one
        terminal.press("d")
        terminal.wait_for("Declare an incident from alert")
        terminal.press("Enter")
        terminal.wait_for("INCIDENT #1")
        title = "Add a pre-deploy quick check"
        terminal.press("i", title, "Tab", "alice", "Tab", "+7d", "Enter")  # no pauses
        screen = terminal.wait_for("Action items: 1 open")
        assert "alice: Add a pre-deploy quick" in screen, screen
        terminal.press("5")
        screen = terminal.wait_for(title)
        [row] = [line for line in screen.splitlines() if title in line]
        assert row.split()[1:4] == [
            (datetime.now(UTC).date() + timedelta(days=7)).isoformat(),
            "open",
            "alice",
        ], screen
        assert "INCIDENT #1 SEV" in screen and "· detected ·" in screen  # no key went astray
        terminal.press("q")
        terminal.wait_for("THIRDBOOK-EXITED-0")
    finally:
        terminal.close()


def test_the_fastest_path_works_at_the_speed_a_person_types(tmp_path: Path) -> None:
    """From the drift alert: `d`, enter, `s`, `K`, enter, `2`, 0.4 s apart. The kill switch
    is pressed while the snapshot is still being taken: its dialog waits for the snapshot
    (saying so), keeps the enter typed meanwhile, and the Incident panel then reads
    "observed" once the serving logs show requests taking the new route."""
    terminal = _demo(tmp_path, 80, 24)
    try:
        _highlight_drift(terminal)
        time.sleep(0.4)
        for key in ("d", "Enter", "s", "K", "Enter", "2"):
            terminal.press(key)
            time.sleep(0.4)
        screen = terminal.wait_for("observed", timeout=40)
        assert "kill switch → credit-scorer human: written" in screen, screen
        assert "INCIDENT #1" in screen and "Evidence: snapshot #1" in screen, screen
        assert "deviation" not in screen and "Override reason" not in screen, screen
        terminal.press("q")
        terminal.wait_for("THIRDBOOK-EXITED-0")
    finally:
        terminal.close()


def _type(terminal: Terminal, *keys: str) -> None:
    """Keys at a person's pace."""
    for key in keys:
        terminal.press(key)
        time.sleep(0.4)


def test_an_alert_explained_then_replayed_ends_in_the_verdict_on_screen(tmp_path: Path) -> None:
    """The regulator's inquiry arrives as an unexplainable-decision alert: `w` explains it,
    `a` answers it; then the v7 drift alert is declared and `y` replays its decisions
    against v6 and v7 through the demo's model server, ending in the verdict on screen.
    (Speed 3: the demo's upstream failure, at demo second 190, comes after.)"""
    terminal = _demo(tmp_path, 80, 24, speed=3)
    try:
        _highlight(terminal, "unexplainable", timeout=120, newer=True)
        _type(terminal, "w")
        screen = terminal.wait_for("inquiry INQ-", timeout=20)
        assert "MISSING" in screen, screen  # the fault: the record lacks what it must hold
        _type(terminal, "a")
        terminal.wait_for("enter to answer")
        _type(terminal, "Enter")
        screen = terminal.wait_for("s after it arrived")
        assert re.search(r"Answered \d+ s after it arrived", screen), screen
        _type(terminal, "Escape")
        _highlight_drift(terminal)
        _type(terminal, "d")
        terminal.wait_for("Declare an incident from alert")
        _type(terminal, "Enter")
        terminal.wait_for("INCIDENT #1")
        _type(terminal, "y")
        terminal.wait_for("Replay — incident #1")
        screen = terminal.wait_for("Verdict: REGRESSION IN THE MODEL CHANGE", timeout=120)
        assert "v6 (known good) against v7 (suspect)" in screen, screen
        assert "inputs answered by both" in screen, screen
        assert "decision: approve" in screen and "decision: decline" in screen, screen
        _type(terminal, "Escape")
        terminal.wait_for("INCIDENT #1")
        terminal.press("q")
        terminal.wait_for("THIRDBOOK-EXITED-0")
    finally:
        terminal.close()
