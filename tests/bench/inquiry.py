"""The regulator's inquiry in the demo, played as a person would: from its alert on screen
to its answer recorded, the keys pressed and the seconds it took.

    .venv/bin/python tests/bench/inquiry.py [--speed 5] [--pause 0.4] [--runs 3]

Runs the real `thirdbook demo` in tmux at 80x24 (a fresh data directory under $TMPDIR),
waits for the unexplainable-decision alert (or the title's "newer above" that it arrived
above the cursor), moves to it with `k` (checking which alert it is with `r`, and waiting
for the detail to follow each `k`), then `w`, `a`, `enter`, a key every --pause seconds (a
person's pace), and waits for "Answered N s after it arrived". --runs times, each from a
fresh demo; prints each run, then min / median / max.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.figures import spread

SESSION = "thirdbook-bench-inquiry"


def _screen() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True
    ).stdout


def _wait(pattern: str, timeout: float = 180.0) -> str:
    """The screen once `pattern` is on it (a ceiling, not a timing)."""
    return _wait_for(lambda screen: re.search(pattern, screen) is not None, pattern, timeout)


def _wait_for(check: Callable[[str], bool], what: str, timeout: float = 180.0) -> str:
    screen = _screen_when(check, timeout)
    if screen is None:
        raise SystemExit(f"never appeared: {what!r}; the screen was:\n{_screen()}")
    return screen


def _screen_when(check: Callable[[str], bool], timeout: float) -> str | None:
    """The screen once `check` holds for it, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen()
        if check(screen):
            return screen
        time.sleep(0.05)
    return None


def _moved_from(was: str | None) -> Callable[[str], bool]:
    """Whether the alert detail shows another alert than `was`."""

    def check(screen: str) -> bool:
        found = DETAIL.search(screen)
        return found is not None and found.group(1) != was

    return check


DETAIL = re.compile(r"#(\d+) [^\n]*· first")
"""The open alert detail's first line (its alert's id)."""


def one_run(speed: float, pause: float) -> tuple[float, list[str], str]:
    """One demo from a fresh data directory: seconds from the alert on screen to its answer
    recorded, the keys pressed, and what the console said."""
    data = Path(tempfile.mkdtemp(prefix="thirdbook-bench-inquiry-"))
    command = (
        f"THIRDBOOK_DATA_DIR={data}/data THIRDBOOK_CONFIG={data}/thirdbook.toml "
        f"{sys.executable} -m thirdbook.cli demo --speed {speed:g}; sleep 600"
    )
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command], check=True
    )
    pressed: list[str] = []

    def press(key: str) -> None:
        pressed.append(key)
        subprocess.run(["tmux", "send-keys", "-t", SESSION, key], check=True)
        time.sleep(pause)  # a person's pace; what the key does is waited for after

    try:
        _wait(r"newer above|unexplainable ")
        seen = time.monotonic()
        press("r")
        for _ in range(12):
            screen = _wait(DETAIL.pattern)
            if "unexplainable decision" in screen:
                break
            shown = DETAIL.search(screen)
            press("k")
            # The detail follows the cursor: wait for it to show another alert (or, at the
            # top of the list, for the ceiling; the next look says which alert it is).
            _screen_when(_moved_from(shown.group(1) if shown else None), timeout=20)
        else:
            raise SystemExit(f"the unexplainable-decision alert was not found: {_screen()}")
        press("r")
        press("w")
        _wait(r"inquiry INQ-")
        press("a")
        _wait(r"enter to answer")
        press("Enter")
        screen = _wait(r"Answered \d+ s after it arrived")
        took = time.monotonic() - seen
        said = re.search(r"Answered \d+ s after it arrived", screen)
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"])
        return took, pressed, said.group(0) if said else "?"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--pause", type=float, default=0.4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    took: list[float] = []
    for run in range(args.runs):
        seconds, pressed, said = one_run(args.speed, args.pause)
        took.append(seconds)
        print(
            f"run {run + 1}: {seconds:.1f} s from the alert on screen to the answer recorded; "
            f"keys {len(pressed)} ({' '.join(pressed)}); the console said {said}",
            flush=True,
        )
    print(f"alert on screen to answer recorded: {spread(took, '.1f', 's')}")


if __name__ == "__main__":
    main()
