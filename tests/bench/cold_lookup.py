"""Cold lookup benchmark: one request id on a store that has not ingested its file yet,
beside lnav's load-and-search of the same file.

    .venv/bin/python tests/bench/cold_lookup.py [--lines 1000000] [--rounds 3]
                              [--ingest background|none] [--ingested 0.5] [--dir DIR]
                              [--shape bench|otlp]

Generates one file of realistic inference records (tests/bench/ingest.py's `generate`,
~750 bytes a line) and a config naming it as a source. Then, in each of `--rounds` paired
rounds, on a fresh data directory:
1. thirdbook: with `--ingest background` (the default), `thirdbook ingest` is started on the
   file and the lookup waits until ingest has committed its first batch (or `--ingested`
   of the file: the backlog being ingested, bulk-loaded without the events indexes, which
   the store's part of the lookup then scans); with `--ingest none` there is no store at
   all. Then `thirdbook events --request-id ID --json` for an id near the end of
   the file is timed, whole process, and must find it (from the log, not yet ingested).
2. lnav, if installed: `lnav -n` loading the file with a JSON format definition that exposes
   the request id as a column, and `;SELECT ... WHERE request_id = 'ID'`, timed whole
   process, and must find it.
The order of the two alternates between rounds. Prints each round, then min/median/max of
each and of the ratio (thirdbook / lnav), paired round by round. Timings on a shared machine
are noisy (with ingest running beside it on two cores, the lookup gets a share of one):
compare the ratio, and the lookup's own CPU seconds, printed with each round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest_lines import OTLP_FORMAT, generate

from thirdbook.domain.formats import format_named
from thirdbook.domain.line_format import LineReject

THIRDBOOK = [sys.executable, "-m", "thirdbook.cli"]
SOURCE = "bench"
LNAV_FORMAT_NAME = "thirdbook_bench"
LNAV_FORMAT = {
    "$schema": "https://lnav.org/schemas/format-v1.schema.json",
    LNAV_FORMAT_NAME: {
        "title": "thirdbook events",
        "description": "thirdbook v1 JSON lines, the request id and subject as columns",
        "json": True,
        "file-pattern": r".*\.jsonl$",
        "timestamp-field": "ts",
        "body-field": "kind",
        "value": {
            "kind": {"kind": "string", "identifier": True},
            "request_id": {"kind": "string", "identifier": True},
            "subject": {"kind": "string", "identifier": True},
        },
    },
}
WAIT_S = 300.0
"""How long a condition (ingest under way) is waited for before the round fails."""


def id_near_the_end(path: Path, line_format: str) -> str:
    """The request id of an inference in a line about 1 % from the end of the file, read as
    the source's format reads it (an OTLP line: its spans' response ids)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - size // 100))
        handle.readline()  # to the next line start
        line = handle.readline().rstrip(b"\n")
    found = format_named(line_format).parse_line(line)
    assert not isinstance(found, LineReject), found.reason
    return next(e.request_id for e, _ in found if e.kind == "inference")


def write_config(work: Path, log: Path, line_format: str) -> Path:
    """A config naming the file as a source (what a bastion's thirdbook.toml says)."""
    config = work / "thirdbook.toml"
    config.write_text(
        f'[[sources]]\nname = "{SOURCE}"\npaths = [{json.dumps(str(log))}]\n'
        f'format = "{line_format}"\n'
    )
    return config


def _ingest_under_way(store: Path, reach: int) -> tuple[int, int] | None:
    """(committed bytes, lines) once ingest has committed batches up to `reach` bytes."""
    if not store.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT max(offset), sum(lines) FROM files").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # being created
    if row is None or not row[0] or int(row[0]) < reach:
        return None
    return int(row[0]), int(row[1] or 0)


def _thirdbook(config: Path, data: Path) -> list[str]:
    return [*THIRDBOOK, "--config", str(config), "--data-dir", str(data)]


def start_ingest(config: Path, data: Path, log: Path, line_format: str) -> subprocess.Popen[bytes]:
    """`thirdbook ingest` on the file, in the background, in its own process group."""
    return subprocess.Popen(
        [
            *_thirdbook(config, data),
            *("ingest", "--once", "--source", SOURCE, "--format", line_format, str(log)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process this benchmark started (and its parse workers), by its group id."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def thirdbook_lookup(
    log: Path, work: Path, request_id: str, ingest: str, ingested: float, line_format: str
) -> tuple[float, str]:
    """Seconds for `thirdbook events --request-id` on a store that has not ingested the file
    (whole process), and what ingest had done when it was asked: with `ingest` "background",
    ingest runs meanwhile, and the lookup waits until it has committed `ingested` of the file
    (0: its first batch)."""
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    config = write_config(work, log, line_format)
    size = log.stat().st_size
    ingester = None
    state = "no store, no ingest"
    try:
        if ingest == "background":
            ingester = start_ingest(config, data, log, line_format)
            deadline = time.monotonic() + WAIT_S
            reach = max(1, int(size * ingested))
            while (done := _ingest_under_way(data / "thirdbook.db", reach)) is None:
                if ingester.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("ingest never got under way")
                time.sleep(0.05)
            state = f"ingest at {done[0] / size:.0%} of the file ({done[1]:,} lines stored)"
        cpu = _children_cpu()
        began = time.perf_counter()
        found = subprocess.run(
            [*_thirdbook(config, data), "events", "--request-id", request_id, "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - began
        cpu = _children_cpu() - cpu
    finally:
        if ingester is not None:
            stop(ingester)
    [record] = [json.loads(line) for line in found.stdout.splitlines()]
    assert record["event"]["request_id"] == request_id, found.stdout
    how = "from the log" if record.get("provisional") else "from the store"
    return seconds, f"{state}; found {how}; {cpu:.2f} s of CPU"


def _children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far: around one
    `subprocess.run`, that process's own (the background ingest is waited for later)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lnav_lookup(log: Path, work: Path, request_id: str, line_format: str) -> float | None:
    """Seconds for lnav to load the file and find the request id by SQL (None: no lnav); in
    OTLP lines, which lnav's JSON formats cannot column, by searching the lines' text."""
    lnav = shutil.which("lnav")
    if lnav is None:
        return None
    home = work / "lnav-home"
    formats = home / ".lnav" / "formats" / "installed"
    formats.mkdir(parents=True, exist_ok=True)
    (formats / f"{LNAV_FORMAT_NAME}.json").write_text(json.dumps(LNAV_FORMAT))
    query = (
        f";SELECT log_line, request_id FROM {LNAV_FORMAT_NAME} WHERE request_id = '{request_id}'"
    )
    search = (
        ["-c", query, "-c", ":write-csv-to -"]
        if line_format != OTLP_FORMAT
        else ["-c", f":filter-in {request_id}"]  # the filtered view is printed at the end
    )
    began = time.perf_counter()
    found = subprocess.run(
        [lnav, "-n", *search, str(log)],
        check=True,
        capture_output=True,
        text=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb"},
    )
    seconds = time.perf_counter() - began
    assert request_id in found.stdout, f"lnav did not find it: {found.stdout!r} {found.stderr!r}"
    return seconds


def spread(values: list[float], unit: str = " s") -> str:
    """min / median / max."""
    low, mid, high = min(values), statistics.median(values), max(values)
    if unit == "":
        return f"min {low:.3f}  median {mid:.3f}  max {high:.3f}"
    return f"min {low:.2f}{unit}  median {mid:.2f}{unit}  max {high:.2f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ingest", choices=("background", "none"), default="background")
    parser.add_argument(
        "--ingested",
        type=float,
        default=0.0,
        help="with --ingest background, ask once ingest has committed this fraction of the "
        "file (default 0: as soon as its first batch is in)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument(
        "--shape",
        choices=("bench", "otlp"),
        default="bench",
        help="the benchmark's thirdbook lines, or its inferences as OTLP spans (--lines events)",
    )
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="thirdbook-bench-lookup-"))
    work.mkdir(parents=True, exist_ok=True)
    line_format = OTLP_FORMAT if args.shape == "otlp" else "thirdbook"
    log = work / ("inference.jsonl" if args.shape == "bench" else "spans.otlp")
    began = time.perf_counter()
    size = generate(log, args.lines, args.shape)
    request_id = id_near_the_end(log, line_format)
    print(
        f"file        {args.lines:,} {'events' if args.shape == 'otlp' else 'lines'} "
        f"({line_format}), {size / 1e6:,.0f} MB, generated in "
        f"{time.perf_counter() - began:.1f} s; looking up {request_id} (1 % from the end)"
    )
    ours: list[float] = []
    theirs: list[float] = []
    for n in range(args.rounds):
        lnav = None
        if n % 2:
            lnav = lnav_lookup(log, work, request_id, line_format)
        seconds, state = thirdbook_lookup(
            log, work, request_id, args.ingest, args.ingested, line_format
        )
        if n % 2 == 0:
            lnav = lnav_lookup(log, work, request_id, line_format)
        ours.append(seconds)
        line = f"round {n + 1}     thirdbook {seconds:.2f} s ({state})"
        if lnav is not None:
            theirs.append(lnav)
            line += f"   lnav {lnav:.2f} s   ratio {seconds / lnav:.3f}"
        print(line, flush=True)
    print(f"thirdbook   {spread(ours)}  (events --request-id --json, whole process)")
    if theirs:
        how = "search the lines' text" if line_format == OTLP_FORMAT else "SQL on the request id"
        print(f"lnav        {spread(theirs)}  (lnav -n: load, then {how})")
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(f"ratio       {spread(ratios, '')}  (thirdbook / lnav, paired by round)")
    else:
        print("lnav        not installed (apt-get install lnav): no comparison")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
