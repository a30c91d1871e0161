"""Fleet shipping drill: the shipped Vector or Fluent Bit configs, run by the real binaries,
carry serving-log lines from "serving hosts" to a "bastion" directory that `thirdbook ingest`
follows, through rotations on both sides, and every line is stored once, byte for byte.

The configs are the files under src/thirdbook/fleet/, changed only where a path, host or port
must point into the test's directory and at a free loopback port (each change is checked to
apply, so a config that moves its paths fails the drill instead of being run half-edited).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

FLEET = Path(__file__).resolve().parent.parent / "src" / "thirdbook" / "fleet"
"""Where the shipped fleet configs live (package data)."""

TEXT = 'said "no" \\ then é ✓ \u2028 {"not":"nested"} \t end'
"""Text that a re-encoding shipper would change: quotes, a backslash, non-ASCII, U+2028,
something that looks like JSON, a tab."""


def real_binary(name: str, env_var: str, version_prefix: str, *extra: str) -> str | None:
    """The path of the upstream `name` binary if it is here and says it is (`--version`)."""
    candidates = [os.environ.get(env_var, ""), shutil.which(name) or "", *extra]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            done = subprocess.run([candidate, "--version"], capture_output=True, timeout=30)
            if done.stdout.decode(errors="replace").startswith(version_prefix):
                return candidate
    return None


def line(host: str, n: int) -> bytes:
    """One valid thirdbook inference event, its request id unique to host and number."""
    record = {
        "v": 1,
        "kind": "inference",
        "ts": f"2026-12-01T10:00:00.{n % 1_000_000:06d}+00:00",
        "request_id": f"{host}-{n:06d}",
        "subject": f"applicant-{n % 97}",
        "model": {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:ab"},
        "response": {"decision": "decline", "text": TEXT},
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def render(name: str, out: Path, replace: dict[str, str]) -> Path:
    """The shipped config `name` with each of `replace`'s texts replaced (each must occur)."""
    text = (FLEET / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, f"{name} no longer contains {old!r}: update the drill"
        text = text.replace(old, new)
    out.write_text(text, encoding="utf-8")
    return out


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, ceiling: float = 60.0) -> None:
    """Wait for `check` with a generous ceiling; fail naming `what`."""
    deadline = time.monotonic() + ceiling
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {ceiling:.0f} s")
        time.sleep(0.1)


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Proc:
    """A started process, its output kept in a log file for the failure message."""

    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
            )
        return self

    def stop(self, sig: int = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@dataclass
class Host:
    """A serving host: its log directory and the shipper process that reads it."""

    name: str
    logs: Path
    shipper: Proc
    written: list[bytes] = field(default_factory=list)

    def write(self, count: int, name: str = "app.jsonl") -> None:
        """Append `count` lines to the host's log `name`, in a few writes."""
        with (self.logs / name).open("ab") as out:
            for _ in range(count):
                data = line(self.name, len(self.written))
                out.write(data)
                self.written.append(data)
                if len(self.written) % 50 == 0:
                    out.flush()
                    time.sleep(0.01)

    def rotate(self) -> None:
        """Rename rotation, as logrotate's `create`: the file moves, the service writes a
        few more lines to it (it has not reopened yet), then writes to a new file."""
        os.rename(self.logs / "app.jsonl", self.logs / "app.jsonl.1")
        self.write(20, "app.jsonl.1")
        self.write(0)  # creates the new live file


def ingester(root: Path, fleet: Path) -> Proc:
    """`thirdbook ingest` following the bastion's watched directory."""
    toml = root / "thirdbook.toml"
    toml.write_text(
        "[ingest]\ndebounce_ms = 30\npoll_interval_s = 0.2\nlease_ttl_s = 2.0\n"
        "release_after_s = 0.5\n"
    )
    argv = [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(root / "data")]
    argv += ["ingest", str(fleet / "*.jsonl")]
    return Proc(argv, root / "ingest.log", {"THIRDBOOK_CONFIG": str(toml)})


def stored(db: Path) -> tuple[list[bytes], list[str], int]:
    """The raw lines stored, their request ids, and the number of rejects."""
    if not db.exists():
        return [], [], 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT raw, request_id FROM events").fetchall()
        rejects = int(conn.execute("SELECT count(*) FROM rejects").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return [], [], 0
    finally:
        conn.close()
    return [bytes(r[0]) for r in rows], [str(r[1]) for r in rows], rejects


@dataclass
class DrillResult:
    """What a drill wrote and what the store holds at the end."""

    written: list[bytes]
    raws: list[bytes]
    request_ids: list[str]
    rejects: int
    files: dict[str, list[bytes]]
    """Each file in the watched directory, by name, and its lines."""


@contextmanager
def running(procs: list[Proc]) -> Iterator[None]:
    """Stop every process in `procs` (started or not) at the end, newest first."""
    try:
        yield
    finally:
        for proc in reversed(procs):
            with suppress(Exception):
                proc.stop()


def run_drill(
    root: Path,
    bastion: Proc,
    port: int,
    hosts: list[Host],
    fleet: Path,
    rotate_bastion: Callable[[], None] | None,
    per_phase: int = 300,
) -> DrillResult:
    """Ship lines through rotations and an ingester SIGKILL; return what arrived."""
    ingest = ingester(root, fleet)
    procs = [bastion, *(h.shipper for h in hosts), ingest]
    db = root / "data" / "thirdbook.db"

    def total() -> int:
        return sum(len(h.written) for h in hosts)

    def arrived() -> int:  # events and rejects: a line changed on the way is a reject
        raws, _, rejects = stored(db)
        return len(raws) + rejects

    with running(procs):
        bastion.start()
        wait_until(lambda: listening(port) or not bastion.alive(), "the bastion listening")
        assert bastion.alive(), f"the bastion exited:\n{bastion.tail()}"
        for host in hosts:
            host.write(per_phase)
            host.shipper.start()
        ingest.start()
        wait_until(lambda: arrived() > 0, "the first line reaching the store", 90)
        for host in hosts:
            host.rotate()  # on the serving host: rename + new file
            host.write(per_phase)
        if rotate_bastion is not None:
            rotate_bastion()  # on the bastion: rename + new file
        ingest.stop(9)  # SIGKILL: thirdbook's checkpoint, not the shipper's, is tested here
        for host in hosts:
            host.write(per_phase)
        ingest.start()
        for host in hosts:
            host.shipper.stop()  # a stop and a start: the shipper's own checkpoint
            host.write(per_phase)
            host.shipper.start()
        wait_until(
            lambda: arrived() >= total(),
            f"all {total()} lines in the store (logs: {[p.log.name for p in procs]})",
            120,
        )
        time.sleep(3)  # a late repeat would land now
        raws, ids, rejects = stored(db)
    written = [data for h in hosts for data in h.written]
    files = {p.name: p.read_bytes().splitlines(keepends=True) for p in sorted(fleet.iterdir())}
    return DrillResult(written, raws, ids, rejects, files)
