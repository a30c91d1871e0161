"""Ingest in a helper process, so the console's own process only draws and answers keys.

Validating every line costs ~27 µs of CPU; at 20,000 lines/s that is more than half of one
core, which would starve the console's event loop. The console therefore starts
`thirdbook watch` (same config, data directory and store) as a child process, which takes the
ingest lease (or waits as a standby while another process holds it). The child dies with the
console: it is stopped on quit, and the kernel sends it SIGTERM if the console itself dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def watch_command(data_dir: Path, config: Path, *, demo: bool = False) -> list[str]:
    """The `thirdbook watch` command line for the same data directory and config."""
    command = [
        sys.executable,
        "-m",
        "thirdbook.cli",
        "--data-dir",
        str(data_dir),
        "--config",
        str(config),
    ]
    return [*command, *(["--demo"] if demo else []), "watch", "--quiet"]


class IngestChild:
    """One helper ingester process."""

    def __init__(self, command: list[str], log: Path | None = None) -> None:
        self.command = command
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return None if self.process is None else self.process.pid

    async def start(self) -> None:
        """Start the child; its output goes to `log` (never to the console's terminal)."""
        out = subprocess.DEVNULL
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            out = self.log.open("ab")  # type: ignore[assignment]
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            preexec_fn=_die_with_parent,
        )
        if not isinstance(out, int):
            out.close()

    def exited(self) -> int | None:
        """The child's exit status, once it has exited."""
        return None if self.process is None else self.process.returncode

    async def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM (the child releases the lease and exits), then SIGKILL if it lingers."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
