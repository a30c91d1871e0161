"""First paint on a big store: the real `thirdbook console --read-only` on a pseudo-terminal,
from exec to the newest event's row in its output, and its resident memory then and at its
peak. Each run waits for the row with a generous ceiling; it never assumes a timing."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.figures import NeverHappened

CEILING_S = 120.0
"""How long a run waits for the newest row before it is a failure (not a timing)."""


@dataclass(frozen=True)
class Paint:
    """One run: seconds from exec to the first byte and to the newest row, the CPU seconds
    the console had used by then (the steadier figure on a shared machine), RSS (kB)."""

    first_byte_s: float
    painted_s: float
    cpu_s: float
    rss_kb: int
    peak_kb: int


def first_paint(
    store: Path,
    newest: str,
    work: Path,
    *,
    rows: int = 50,
    cols: int = 200,
    src: Path | None = None,
) -> Paint:
    """One run of the console on `store`, until the row of request id `newest` shows; with
    `src` (another checkout's `src` directory), that checkout's code runs instead."""
    config = work / "paint.toml"
    config.write_text(f'[store]\npath = "{store}"\n')
    env = dict(
        os.environ,
        TERM="xterm-256color",
        THIRDBOOK_CONFIG=str(config),
        THIRDBOOK_DATA_DIR=str(work / "paint-data"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cached bytecode, as an installed thirdbook has
    if src is not None:
        env["PYTHONPATH"] = str(src)
    thirdbook = str(Path(sys.executable).with_name("thirdbook"))
    wanted = newest.encode()
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the terminal has its size before the program starts, as a real one does
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvpe(thirdbook, [thirdbook, "console", "--read-only"], env)
    seen = b""
    first_byte: float | None = None
    try:
        while time.perf_counter() - start < CEILING_S:
            ready, _, _ = select.select([fd], [], [], 0.005)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:  # the console exited: its output ends here
                break
            if first_byte is None:
                first_byte = time.perf_counter() - start
            seen = seen[-len(wanted) :] + chunk
            if wanted in seen:
                painted = time.perf_counter() - start
                cpu, (rss, peak) = _cpu(pid), _memory(pid)
                _settle(fd, pid)
                return Paint(first_byte, painted, cpu, rss, max(peak, _memory(pid)[1]))
        raise NeverHappened(f"the newest event ({newest}) was not on screen within {CEILING_S:g} s")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def _settle(fd: int, pid: int, seconds: float = 1.0) -> None:
    """Keep reading its output for a moment (so it never blocks on a full terminal) while
    its memory reaches what it holds once painted."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                return


def _cpu(pid: int) -> float:
    """User and system CPU seconds a process has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
