"""Key-to-screen latency while the console's helper ingests: the real `thirdbook console` on a
pseudo-terminal while another process writes its watched log at a steady rate, from writing a
key to the bytes that show its effect. Every step waits for what it needs (the helper holding
the lease, an older page to turn to, the cursor in the events) instead of assuming a timing;
the writer writes until the presses are done."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.figures import NeverHappened, wait_for

WRITER = r"""
import select, sys, time
path, rate, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = 0
start = time.perf_counter()
with open(path, "a", buffering=1 << 20) as f:
    while not select.select([sys.stdin], [], [], 0)[0]:  # until stdin closes
        due = int((time.perf_counter() - start) * rate)
        if due > n:
            ts = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            f.write("".join(line.format(ts=ts, n=i, s=i % 9973) for i in range(n, due)))
            f.flush()
            n = due
        time.sleep(0.01)
print(n, time.perf_counter() - start)
"""
LINE = (
    '{{"v":1,"kind":"inference","ts":"{ts}","request_id":"req-{n:09d}","subject":"applicant-{s}",'
    '"model":{{"name":"credit-scorer","version":"v7","weights_hash":"sha256:ab12"}},'
    '"prompt":{{"text":"score applicant {s}"}},"response":{{"decision":"decline"}}}}\n'
)
PAGE = 100  # the console's page of events (tui/widgets/event_browser.py)


class Pty:
    """The real program on a pseudo-terminal: keys in, bytes out."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 50, cols: int = 200):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the terminal has its size before the program starts
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env)
        self.seen = b""  # everything it wrote so far (for waiting on what it wrote once)

    def read_until(self, wanted: bytes, ceiling_s: float = 60.0, *, since: int = 0) -> float:
        """Seconds until `wanted` is in what the program wrote after byte `since` of it."""
        start = time.perf_counter()
        while wanted not in self.seen[max(0, since - len(wanted)) :]:
            if time.perf_counter() - start > ceiling_s:
                raise NeverHappened(f"{wanted!r} was not on screen within {ceiling_s:g} s")
            self._read(0.002)
        return time.perf_counter() - start

    def key(self, data: bytes, then: bytes, ceiling_s: float = 60.0) -> float:
        """Milliseconds from writing a key to `then` on screen."""
        self.drain()
        mark = len(self.seen)
        start = time.perf_counter()
        os.write(self.fd, data)
        self.read_until(then, ceiling_s, since=mark)
        return (time.perf_counter() - start) * 1000

    def _read(self, timeout: float) -> None:
        if select.select([self.fd], [], [], timeout)[0]:
            try:
                self.seen += os.read(self.fd, 1 << 16)
            except OSError as exc:  # it exited
                raise NeverHappened(f"the console exited: {self.seen[-400:]!r}") from exc

    def drain(self) -> None:
        while select.select([self.fd], [], [], 0)[0]:
            self._read(0)

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@dataclass(frozen=True)
class Keys:
    """One run: milliseconds per press, and the ingest going on meanwhile."""

    paging: list[float]
    cursor: list[float]
    written: int
    written_per_s: float
    ingest_per_s: float


def _events(db: Path) -> int:
    """Events in the store so far (0 while it is not there yet, or empty)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT max(id) FROM events").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0) if row else 0


def key_latency(work: Path, rate: int = 20_000, rounds: int = 30) -> Keys:
    """The real `thirdbook console` (its helper ingesting) while another process writes."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "keys.jsonl"
    log.write_bytes(b"")
    config = work / "keys.toml"
    config.write_text(f'[[sources]]\nname = "bench"\npaths = ["{log}"]\n')
    data = work / "keys-data"
    env = dict(
        os.environ,
        TERM="xterm-256color",
        THIRDBOOK_CONFIG=str(config),
        THIRDBOOK_DATA_DIR=str(data),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(log), str(rate), LINE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    console = Pty([str(Path(sys.executable).with_name("thirdbook")), "console"], env)
    paging: list[float] = []
    cursor: list[float] = []
    try:
        console.read_until(b"ingesting here", 120)
        db = data / "thirdbook.db"
        wait_for(lambda: _events(db) > 3 * PAGE, "three pages of events ingested", ceiling_s=120)
        console.read_until(b"] older", 60)  # the live page offers an older one
        console.drain()
        console.key(b"\t", b"", 0)  # from the live triggers to the events ...
        console.key(b"j", b"req-", 60)  # ... where the cursor moves (not counted)
        before, t_before = _events(db), time.perf_counter()
        for _ in range(rounds):  # a person's pace: 0.3 s between keys (each frame whole)
            paging.append(console.key(b"]", b"page 2, older events"))
            time.sleep(0.3)
            cursor.append(console.key(b"j", b"req-"))  # the rows the cursor left and reached
            time.sleep(0.3)
            paging.append(console.key(b"[", b"live, newest first"))
            time.sleep(0.3)
        after, t_after = _events(db), time.perf_counter()
    finally:
        console.close()
        out, _ = writer.communicate(timeout=60)  # closing its stdin stops it
    written, seconds = out.split()
    return Keys(
        paging=paging,
        cursor=cursor,
        written=int(written),
        written_per_s=int(written) / float(seconds),
        ingest_per_s=(after - before) / (t_after - t_before),
    )
