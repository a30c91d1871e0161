"""Finding the processes a test (or the whole session) started, wherever they ended up.

A process started with a marker in its environment passes it to every process it starts
(multiprocessing's fork server, its workers and resource tracker too), and a process that
outlives its parent keeps it even once it is adopted by init: so the marker finds them all.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

MARKER = "THIRDBOOK_TEST_PROCESSES"


def new_marker() -> str:
    """A value no other run uses."""
    return f"{os.getpid()}-{secrets.token_hex(6)}"


def marked_env(marker: str) -> dict[str, str]:
    """This environment with `marker` set, for a subprocess."""
    return {**os.environ, MARKER: marker}


def marked(marker: str, *, besides: set[int] | None = None) -> dict[int, str]:
    """pid → command line of every live process (zombies aside) carrying `marker`."""
    needle = f"{MARKER}={marker}".encode()
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or (besides and int(entry) in besides):
            continue
        folder = Path("/proc", entry)
        try:
            if needle not in folder.joinpath("environ").read_bytes().split(b"\0"):
                continue
            state = folder.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
            command = folder.joinpath("cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found[int(entry)] = command.replace(b"\0", b" ").decode(errors="replace")[:300]
    return found


def _parent_and_name(pid: int) -> tuple[int, str]:
    stat = Path("/proc", str(pid), "stat").read_text()
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return int(stat.rsplit(")", 1)[1].split()[1]), name


def under(pid: int, name: str) -> bool:
    """Whether process `pid` is, or descends from, a process called `name`."""
    try:
        while pid > 1:
            pid, called = _parent_and_name(pid)
            if called == name:
                return True
    except (OSError, ValueError):
        return False
    return False


def wait_for_none(
    marker: str,
    *,
    timeout: float = 30.0,
    besides: set[int] | None = None,
    spare: Callable[[int], bool] | None = None,
) -> dict[int, str]:
    """Wait (up to `timeout`) until no process carries `marker` (but those `besides`, and
    those `spare` says yes to); what is left then."""
    deadline = time.monotonic() + timeout
    while True:
        left = {
            pid: command
            for pid, command in marked(marker, besides=besides).items()
            if spare is None or not spare(pid)
        }
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)
