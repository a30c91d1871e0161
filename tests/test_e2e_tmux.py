"""End to end: the real `thirdbook demo` in tmux at 80x24, driven by keys, read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    """A tmux session running one command, with keys in and the screen out."""

    def __init__(self, command: list[str], width: int, height: int, env: dict[str, str]) -> None:
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

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def demo_terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Terminal]:
    env = {
        "THIRDBOOK_DATA_DIR": str(tmp_path / "data"),
        "THIRDBOOK_CONFIG": str(tmp_path / "thirdbook.toml"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    terminal = Terminal(
        [sys.executable, "-m", "thirdbook.cli", "demo", "--speed", "10"], 80, 24, env
    )
    try:
        yield terminal
    finally:
        terminal.close()


def test_demo_shows_events_flowing_and_answers_keys(demo_terminal: Terminal) -> None:
    began = time.monotonic()
    screen = demo_terminal.wait_for("inference", timeout=20)
    first_seen = time.monotonic() - began
    assert "credit-scorer" in screen
    screen = demo_terminal.wait_for("ingesting here")
    assert "events " in screen and "rejects 0" in screen
    # Within 2 s of the console starting (Python's own start-up comes on top).
    assert first_seen < 3.5, f"events took {first_seen:.1f} s to appear"
    demo_terminal.wait_for("] older", timeout=20)  # more than one page by now
    demo_terminal.press("]")
    demo_terminal.wait_for("page 2, older events")
    demo_terminal.press("g")
    demo_terminal.wait_for("live, newest first")
    # The drift alert fires; declare an incident from the keyboard and read the banner.
    demo_terminal.wait_for("drift", timeout=40)
    demo_terminal.press("d")
    demo_terminal.wait_for("Declare an incident from alert")
    demo_terminal.press("Enter")  # the title is prefilled with the alert's summary
    screen = demo_terminal.wait_for("INCIDENT #1")
    assert "No active incident" not in screen
    demo_terminal.press("q")
    demo_terminal.wait_for("THIRDBOOK-EXITED-0")
