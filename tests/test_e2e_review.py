"""The demo played to the end in tmux at 80x24, at a person's pace: contain (snapshot, kill
switch), restore with conditions until the serving logs show it observed, then the review
(a finding, an action item answering it, the runbook edited in a real $EDITOR, completed)
and the report written. Prints the keys and seconds from "recovered" to the report."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.test_e2e_tmux import Terminal, _highlight_drift

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
NAMED = {"Enter", "Escape", "Down", "Up", "BSpace", "Tab", "C-l"}


def _type(terminal: Terminal, *keys: str) -> int:
    """Keys at a person's pace (0.4 s apart); how many keys that was."""
    for key in keys:
        terminal.press(key)
        time.sleep(0.4)
    return sum(1 if k in NAMED else len(k) for k in keys)


def test_the_demo_played_to_the_end_contain_restore_review_report(tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"  # a real editor process, run while the console suspends
    editor.write_text('#!/bin/sh\nprintf "\\n1. Page the drift channel owner first.\\n" >> "$1"\n')
    editor.chmod(0o755)
    data = tmp_path / "data"
    env = {
        "EDITOR": str(editor),
        "THIRDBOOK_DATA_DIR": str(data),
        "THIRDBOOK_CONFIG": str(tmp_path / "thirdbook.toml"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    command = [sys.executable, "-m", "thirdbook.cli", "demo", "--speed", "10"]
    terminal = Terminal(command, 80, 24, env)
    try:
        _highlight_drift(terminal)
        _type(terminal, "d")
        terminal.wait_for("Declare an incident from alert")
        _type(terminal, "Enter")
        terminal.wait_for("INCIDENT #1")
        _type(terminal, "s", "K")
        terminal.wait_for("KILL SWITCH for credit-scorer")
        _type(terminal, "Enter", "2")
        terminal.wait_for("observed", timeout=40)
        # Restore with conditions: half the traffic back to the model.
        _type(terminal, "u")
        terminal.wait_for("Recover — incident #1")
        _type(terminal, "d")
        terminal.wait_for("Decide how it recovers")
        _type(terminal, "Enter")  # restore
        terminal.wait_for("RESTORE with conditions")
        _type(terminal, "Enter", "BSpace", "BSpace", "BSpace", "50", "Enter", "Enter", "Enter")
        terminal.wait_for("Write the flag rules now?")
        _type(terminal, "y")
        terminal.wait_for("#1 RESTORE", timeout=20)
        screen = terminal.wait_for_match(r"observed \d\d:\d\d:\d\d", timeout=60)
        assert "not yet observed" not in screen, screen
        recovered = time.monotonic()
        keys = 0
        # The review: a finding, an action item answering it, the runbook edited, completed.
        keys += _type(terminal, "Escape", "B")
        terminal.wait_for("Review — incident #1")
        keys += _type(terminal, "f")
        terminal.wait_for("What kind of finding?")
        keys += _type(terminal, "Down", "Enter")  # a contributing factor
        terminal.wait_for("name the mechanism")
        keys += _type(terminal, "drift alarms went to a channel nobody owned", "Enter")
        terminal.wait_for("Finding #1 recorded")
        keys += _type(terminal, "a")
        terminal.wait_for("Which finding does it answer?")
        keys += _type(terminal, "Enter")
        terminal.wait_for("What does it do?")
        keys += _type(terminal, "Down", "Enter")  # prevent
        terminal.wait_for("New action item for incident #1")
        keys += _type(terminal, "Own the drift channel", "Enter", "ops-lead", "Enter", "+14d")
        keys += _type(terminal, "Enter")
        terminal.wait_for("Action item #1 (prevent)")
        keys += _type(terminal, "C-l", "e")
        terminal.wait_for("Runbook drift edited", timeout=20)
        keys += _type(terminal, "c")
        terminal.wait_for("finding(s), completed")
        keys += _type(terminal, "C-l", "m")
        terminal.wait_for("Report written", timeout=30)
        seconds = time.monotonic() - recovered
        print(f"\nrecovered → report written: {keys} keys, {seconds:.1f} s")
        [report] = (data / "demo").rglob("incident-1-report-*.md") or data.rglob(
            "incident-1-report-*.md"
        )
        text = report.read_text()
        assert "drift alarms went to a channel nobody owned" in text
        assert "| prevent | finding #1 | Own the drift channel | ops-lead |" in text
        assert "+1. Page the drift channel owner first." in text
        assert "Review completed by" in text and "## Recovery decision" in text
        _type(terminal, "Escape")
        terminal.wait_for("INCIDENT #1")
        terminal.press("q")
        terminal.wait_for("THIRDBOOK-EXITED-0")
    finally:
        terminal.close()
