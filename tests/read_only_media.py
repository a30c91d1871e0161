"""Read-only stores for real, and the real program on a pseudo-terminal.

Root ignores permission bits, so a read-only store is made one of two ways:
- `medium`: a read-only bind mount in a private mount namespace (`unshare --mount`), which
  even root cannot write through (EROFS); needs CAP_SYS_ADMIN, which a container may lack;
- `directory`: a directory the command may not write (0555, files 0444), the command run
  as `nobody` (`setpriv`), or, where `nobody` cannot reach this Python (a checkout under
  /root), as root without the capabilities that override permission bits.
Each is used where the machine allows it and skipped, saying why, where it does not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
_OVERRIDES = "-dac_override,-dac_read_search,-fowner"
AS_ROOT_HELD_BY_PERMISSIONS = [
    "setpriv",
    f"--bounding-set={_OVERRIDES}",
    f"--inh-caps={_OVERRIDES}",
    "--",
]
THIRDBOOK = [sys.executable, "-m", "thirdbook.cli"]
_BIND_READ_ONLY = (
    'while [ "$1" != -- ]; do mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; shift; '
    'done; shift; exec "$@"'
)


@dataclass
class ReadOnly:
    """One way of making directories read-only for the commands run through `argv`."""

    way: str
    base: Path
    read_only: list[Path] = field(default_factory=list)

    def protect(self, *directories: Path) -> None:
        """Make these directories (and what is in them) read-only for the commands."""
        self.read_only.extend(directories)
        if self.way == "directory":
            if _as_user() == AS_NOBODY:  # what the command may write is nobody's; the rest root's
                _chown_tree(self.base, NOBODY)
                for directory in self.read_only:
                    _chown_tree(directory, 0)
            for directory in self.read_only:
                _chmod_tree(directory, 0o555, 0o444)

    def argv(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` with the protected directories read-only."""
        if self.way == "medium":
            return [
                "unshare",
                "--mount",
                "--",
                "sh",
                "-ec",
                _BIND_READ_ONLY,
                "sh",
                *map(str, self.read_only),
                "--",
                *argv,
            ]
        return [*_as_user(), *argv]

    def env(self, data_dir: Path) -> dict[str, str]:
        """A clean environment pointing thirdbook at `data_dir` and a config in `base`."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.base),
            "TMPDIR": str(self.base / "tmp"),
            "THIRDBOOK_DATA_DIR": str(data_dir),
            "THIRDBOOK_CONFIG": str(self.base / "thirdbook.toml"),
            "TERM": "xterm-256color",
            "COLUMNS": "200",
        }

    def run(
        self, data_dir: Path, *args: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run `thirdbook ARGS` with the protected directories read-only."""
        return subprocess.run(
            self.argv([*THIRDBOOK, *args]),
            env=self.env(data_dir),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _chmod_tree(top: Path, dir_mode: int, file_mode: int) -> None:
    for root, dirs, files in os.walk(top):
        for name in files:
            os.chmod(os.path.join(root, name), file_mode)
        for name in dirs:
            os.chmod(os.path.join(root, name), dir_mode)
    os.chmod(top, dir_mode)


def _chown_tree(top: Path, uid: int) -> None:
    os.chown(top, uid, uid)
    for root, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), uid, uid)


def one_sentence(text: str) -> str:
    """The single line a failure prints (and nothing that looks like a traceback)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@cache
def why_not(way: str) -> str | None:
    """Why `way` cannot be used on this machine (None: it can)."""
    probe = Path(tempfile.mkdtemp(prefix="thirdbook-ro-probe-"))
    try:
        probe.chmod(0o755)
        if way == "medium":
            if shutil.which("unshare") is None:
                return "unshare (util-linux) is not installed"
            done = subprocess.run(
                [
                    "unshare",
                    "--mount",
                    "--",
                    "sh",
                    "-ec",
                    _BIND_READ_ONLY,
                    "sh",
                    str(probe),
                    "--",
                    "sh",
                    "-c",
                    f"! touch {probe}/x 2>/dev/null",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                return f"this machine cannot make a read-only bind mount: {done.stderr.strip()}"
            return None
        if os.geteuid() != 0:
            return None  # an unprivileged user already: permission bits apply
        if shutil.which("setpriv") is None:
            return "setpriv (util-linux) is not installed"
        (probe / "held").mkdir(mode=0o555)
        attempt = f"import pathlib; pathlib.Path({str(probe / 'held' / 'x')!r}).touch()"
        done = subprocess.run(
            [*_as_user(), sys.executable, "-c", attempt],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=probe,
        )
        if "PermissionError" not in done.stderr:
            return (
                f"permission bits do not hold {' '.join(_as_user()) or 'this user'} "
                f"here: {done.stderr.strip()[-300:]}"
            )
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


@cache
def _as_user() -> list[str]:
    """How a command runs held by permission bits: as itself when not root; as `nobody`
    when `nobody` can run this Python; else as root without the overriding capabilities."""
    if os.geteuid() != 0:
        return []
    done = subprocess.run(
        [*AS_NOBODY, *THIRDBOOK, "--version"], capture_output=True, text=True, timeout=60, cwd="/"
    )
    return AS_NOBODY if done.returncode == 0 else AS_ROOT_HELD_BY_PERMISSIONS


@contextlib.contextmanager
def read_only(way: str) -> Iterator[ReadOnly]:
    """A base directory (reachable by `nobody`) whose protected parts are read-only."""
    reason = why_not(way)
    if reason is not None:
        pytest.skip(f"no read-only {way} here: {reason}")
    base = Path(tempfile.mkdtemp(prefix="thirdbook-ro-"))
    base.chmod(0o755)
    (base / "tmp").mkdir(mode=0o777)
    (base / "tmp").chmod(0o1777)
    try:
        yield ReadOnly(way, base)
    finally:
        _chmod_tree(base, 0o755, 0o644)
        shutil.rmtree(base, ignore_errors=True)


class Pty:
    """A real program on a pseudo-terminal: its output read as it comes, keys written in."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = (200, 50)):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the real program
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.output = bytearray()
        self.status: int | None = None

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.output += data
        return bool(data)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Read until `text` has been written (plain text, as the program wrote it)."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(
                    f"{text!r} never appeared; the program wrote:\n"
                    f"{self.output[-3000:].decode(errors='replace')}"
                )

    def press(self, keys: bytes) -> None:
        """Type keys."""
        os.write(self.fd, keys)

    def exit_code(self, timeout: float = 60) -> int:
        """Wait for the program to end (reading what it writes); its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1):
            pass
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
            else:
                time.sleep(0.05)
        if self.status is None:
            self.close()
            raise AssertionError("the program did not exit")
        return os.waitstatus_to_exitcode(self.status)

    def after_screen(self) -> str:
        """What the program wrote after leaving the full screen (its last words)."""
        text = self.output.decode(errors="replace")
        return text.rsplit("\x1b[?1049l", 1)[-1]

    def close(self) -> None:
        """Kill the program if it still runs."""
        if self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                self.status = os.waitpid(self.pid, 0)[1]
        with contextlib.suppress(OSError):
            os.close(self.fd)
