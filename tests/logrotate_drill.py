"""The real `logrotate` against a fast writer and an ingester killed at random (RELIABILITY A16).

One drill: a writer appends lines with unique ids at a steady rate (reopening the live file
when logrotate has moved it, a few milliseconds late, as a real service does on its reopen
signal); logrotate rotates every second or so in one mode; `thirdbook watch` ingests and is
SIGKILLed at random points and restarted after a random pause (so rotations also happen
while it is down). At the end the ingester catches up and the drill counts, for every id
written: stored once, stored twice, still on disk in a whole line but not stored (lost by
us), or gone from disk before anyone could read it (logrotate's own copy-then-truncate
window). A line logrotate's copy ended inside of is gone too: the copy raced the writer's
write (its last read saw the file end at a page boundary of it) and the truncate took the
rest, so only a fragment is on disk (ingest keeps it as a reject, with a gap after it).
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MODES: dict[str, str] = {
    "create": "create",
    "copytruncate": "copytruncate",
    "compress": "create\n    compress",
    "delaycompress": "create\n    compress\n    delaycompress",
    "dateext": "create\n    dateext\n    dateformat -%Y%m%d-%s",
    "olddir": "create\n    olddir {old}",
}
"""logrotate directives for each mode the drill plays."""

_ID = re.compile(rb'"request_id":"r-(\d+)"')


@dataclass
class DrillResult:
    """What one drill counted."""

    mode: str
    glob: str
    written: int = 0
    stored_distinct: int = 0
    duplicated: int = 0
    lost: int = 0
    window_gone: int = 0
    window_read: int = 0
    cut: int = 0
    """Of window_gone: lines a copy ended inside of (a fragment on disk, the rest truncated)."""
    gaps: int = 0
    kills: int = 0
    rotations: int = 0
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        """One row of the matrix, as the closing note shows it."""
        return (
            f"| {self.mode} | {self.glob} | {self.written:,} | {self.lost:,} | "
            f"{self.duplicated:,} | {self.gaps} | {self.window_gone:,} | {self.cut} | "
            f"{self.window_read:,} | {self.kills} | {self.rotations} |"
        )


HEADER = (
    "| mode | glob | written | lost | duplicated | gaps recorded | gone in logrotate's window "
    "| of them cut inside a line | read before the window closed | kills | rotations |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def line(n: int) -> bytes:
    """A valid thirdbook event with a unique request id."""
    record = {
        "v": 1,
        "kind": "inference",
        "ts": f"2026-11-27T10:00:00.{n % 1_000_000:06d}+00:00",
        "request_id": f"r-{n:09d}",
        "subject": f"applicant-{n % 97}",
        "model": {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:ab"},
        "response": {"decision": "decline", "text": "x" * 40},
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


class Writer(threading.Thread):
    """Appends `rate` lines a second to `path`, reopening it once logrotate has moved it."""

    def __init__(self, path: Path, rate: int) -> None:
        super().__init__(daemon=True)
        self.path, self.rate = path, rate
        self.written = 0
        self.stop = threading.Event()

    def run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        began = time.monotonic()
        try:
            while not self.stop.is_set():
                due = int((time.monotonic() - began) * self.rate)
                if due > self.written:
                    chunk = b"".join(line(n) for n in range(self.written, due))
                    os.write(fd, chunk)
                    self.written = due
                # The reopen a real service does when told the file moved: a little late.
                try:
                    moved = os.stat(self.path).st_ino != os.fstat(fd).st_ino
                except FileNotFoundError:
                    moved = True
                if moved:
                    os.close(fd)
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                time.sleep(0.005)
        finally:
            os.close(fd)


def _config(root: Path, mode: str, glob: str, olddir: Path) -> tuple[Path, Path]:
    live = root / "logs" / "app.jsonl"
    conf = root / "logrotate.conf"
    conf.write_text(
        f"{live} {{\n    rotate 100000\n    missingok\n    ifempty\n    nomail\n"
        f"    {MODES[mode].format(old=olddir)}\n}}\n"
    )
    os.chmod(conf, 0o644)
    patterns = [str(live)] if glob == "narrow" else [f"{live}*"]
    olddirs: list[str] = []
    if mode == "olddir":
        if glob == "wide":
            patterns.append(f"{olddir}/app.jsonl*")
        else:
            olddirs.append(str(olddir))
    toml = root / "thirdbook.toml"
    toml.write_text(
        "[ingest]\ndebounce_ms = 30\npoll_interval_s = 0.2\nlease_ttl_s = 2.0\n"
        'release_after_s = 0.5\n\n[[sources]]\nname = "app"\n'
        f"paths = {json.dumps(patterns)}\nolddirs = {json.dumps(olddirs)}\n"
    )
    return conf, toml


def _start_ingester(root: Path, toml: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "THIRDBOOK_CONFIG": str(toml)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thirdbook.cli",
            "--data-dir",
            str(root / "data"),
            "watch",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def _read_any(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:3] == b"BZh":
        return bz2.decompress(data)
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(data)
    return data


def ids_on_disk(*dirs: Path) -> tuple[set[int], set[int]]:
    """The ids in whole lines of the files in `dirs`, and those only in a last line without
    its newline (a fragment: what a copy holds of a line it ended inside of)."""
    whole: set[int] = set()
    fragments: set[int] = set()
    for directory in dirs:
        for path in directory.iterdir():
            if path.is_file():
                data = _read_any(path)
                end = data.rfind(b"\n") + 1
                whole.update(int(m) for m in _ID.findall(data, 0, end))
                fragments.update(int(m) for m in _ID.findall(data, end))
    return whole, fragments - whole


def _stored(db: Path) -> list[int]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT request_id FROM events").fetchall()
        return [int(r[0][2:]) for r in rows if r[0]]
    finally:
        conn.close()


def _following(db: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return False
    try:
        return bool(conn.execute("SELECT count(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _gaps(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(
            conn.execute("SELECT count(*) FROM ingest_notes WHERE kind = 'gap'").fetchone()[0]
        )
    finally:
        conn.close()


def run_drill(
    root: Path,
    mode: str,
    glob: str,
    *,
    seconds: float = 12.0,
    rate: int = 2500,
    seed: int = 1,
    kills: bool = True,
    catch_up_s: float = 120.0,
) -> DrillResult:
    """Play one mode with one glob for `seconds`, then count every id."""
    rng = random.Random(seed)
    logs, old = root / "logs", root / "old"
    logs.mkdir(parents=True)
    old.mkdir()
    conf, toml = _config(root, mode, glob, old)
    state = root / "logrotate.state"
    result = DrillResult(mode, glob)
    writer = Writer(logs / "app.jsonl", rate)
    writer.start()
    time.sleep(0.2)
    ingester = _start_ingester(root, toml)
    db = root / "data" / "thirdbook.db"
    # Faults start once ingest follows the file: rotations from before it began are, by
    # design, not read (they were never asked for).
    began = time.monotonic()
    while not _following(db) and time.monotonic() - began < 60:
        time.sleep(0.1)
    stop = threading.Event()

    def rotate() -> None:
        while not stop.wait(rng.uniform(1.1, 1.6)):
            done = subprocess.run(
                ["logrotate", "-f", "-s", str(state), str(conf)], capture_output=True
            )
            if done.returncode == 0:
                result.rotations += 1
            else:
                result.notes.append(done.stderr.decode(errors="replace")[:200])

    rotator = threading.Thread(target=rotate, daemon=True)
    rotator.start()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1.0, 3.0) if kills else 0.5)
            if kills and time.monotonic() < deadline:
                ingester.send_signal(signal.SIGKILL)
                ingester.wait(timeout=10)
                result.kills += 1
                time.sleep(rng.uniform(0.0, 1.8))  # rotations happen while it is down
                ingester = _start_ingester(root, toml)
        stop.set()
        rotator.join(timeout=30)
        writer.stop.set()
        writer.join(timeout=30)
        result.written = writer.written
        on_disk, fragments = ids_on_disk(logs, old)
        # Catch up: wait until everything still on disk is in, or the ceiling passes.
        ceiling = time.monotonic() + catch_up_s
        quiet_since, last = time.monotonic(), -1
        while time.monotonic() < ceiling:
            stored = _stored(db)
            if (
                on_disk <= set(stored)
                and len(stored) == last
                and time.monotonic() - quiet_since > 3
            ):
                break
            if len(stored) != last:
                last, quiet_since = len(stored), time.monotonic()
            time.sleep(0.5)
    finally:
        stop.set()
        writer.stop.set()
        ingester.send_signal(signal.SIGTERM)
        try:
            ingester.wait(timeout=20)
        except subprocess.TimeoutExpired:
            ingester.kill()
            ingester.wait(timeout=10)
    stored = _stored(db)
    distinct = set(stored)
    written = set(range(result.written))
    result.stored_distinct = len(distinct)
    result.duplicated = len(stored) - len(distinct)
    result.lost = len(on_disk - distinct)
    result.window_gone = len(written - on_disk - distinct)
    result.window_read = len((written - on_disk) & distinct)
    result.cut = len(fragments - distinct)
    result.gaps = _gaps(db)
    return result


def main() -> None:
    """Print the whole matrix (`python tests/logrotate_drill.py [seconds]`)."""
    import tempfile

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 40.0
    print(HEADER)
    for mode in MODES:
        for glob in ("narrow", "wide"):
            with tempfile.TemporaryDirectory() as tmp:
                result = run_drill(Path(tmp), mode, glob, seconds=seconds)
                print(result.row(), flush=True)
                for note in result.notes[:3]:
                    print(f"  logrotate: {note.strip()}")


if __name__ == "__main__":
    main()
