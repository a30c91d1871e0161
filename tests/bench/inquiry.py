"""The regulator's inquiry in the demo, played as a person would: from its alert on screen
to its answer recorded, the keys pressed and the seconds it took.

    .venv/bin/python tests/bench/inquiry.py [--speed 5] [--pause 0.4]

Runs the real `thirdbook demo` in tmux at 80x24 (a fresh data directory under $TMPDIR),
waits for the unexplainable-decision alert (or the title's "newer above" that it arrived
above the cursor), moves to it with `k` (checking which alert it is with `r`), then `w`,
`a`, `enter`, a key every --pause seconds, and waits for "Answered N s after it arrived".
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SESSION = "thirdbook-bench-inquiry"


def _screen() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True
    ).stdout


def _wait(pattern: str, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen()
        if re.search(pattern, screen):
            return screen
        time.sleep(0.05)
    raise SystemExit(f"never appeared: {pattern!r}; the screen was:\n{_screen()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--pause", type=float, default=0.4)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed")
    data = Path(tempfile.mkdtemp(prefix="thirdbook-bench-inquiry-"))
    command = (
        f"THIRDBOOK_DATA_DIR={data}/data THIRDBOOK_CONFIG={data}/thirdbook.toml "
        f"{sys.executable} -m thirdbook.cli demo --speed {args.speed:g}; sleep 600"
    )
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command], check=True
    )
    pressed: list[str] = []

    def press(key: str) -> None:
        pressed.append(key)
        subprocess.run(["tmux", "send-keys", "-t", SESSION, key], check=True)
        time.sleep(args.pause)

    try:
        _wait(r"newer above|unexplainable ")
        seen = time.monotonic()
        press("r")
        for _ in range(12):
            _wait(r"#\d+ [^\n]*· first")
            if "unexplainable decision" in _screen():
                break
            press("k")
        press("r")
        press("w")
        _wait(r"inquiry INQ-")
        press("a")
        _wait(r"enter to answer")
        press("Enter")
        screen = _wait(r"Answered \d+ s after it arrived")
        took = time.monotonic() - seen
        said = re.search(r"Answered \d+ s after it arrived", screen)
        print(f"keys             {len(pressed)} ({' '.join(pressed)})")
        print(f"alert on screen to answer recorded  {took:.1f} s")
        print(f"the console said {said.group(0) if said else '?'}")
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"])
        time.sleep(2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
