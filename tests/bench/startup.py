"""Start-up benchmark: whole-process times of the commands people run first.

    .venv/bin/python tests/bench/startup.py [--events 100000] [--dir DIR] [--rounds 15]
                                             [--against SRC]

Builds (once; reused) a store of --events generated inference records (tests/bench/ingest.py's
generator, ingested by `thirdbook ingest --once`), then times, round after round and in turn,
each command in its own process: `python -c pass` (the floor), `thirdbook --help`,
`thirdbook status`, `thirdbook events --request-id ID` and `thirdbook explain ID` (ID a
decision in the store). Prints min / median / max wall-clock milliseconds and the median CPU
time of each, against the targets (--help and status under 150 ms, the two lookups under
300 ms). With --against SRC (the `src` directory of another thirdbook checkout, e.g. main's),
the same commands of that code run in the same rounds, interleaved, and each round's ratio is
printed (min / median / max of the paired ratios): a busy machine slows both alike.

Every thirdbook module (of both checkouts) is compiled to bytecode first, into its
`__pycache__`, as an installed package is (with PYTHONDONTWRITEBYTECODE set, as in some shells
and CI, each run would compile them again); one warm-up run of each command fills the page
cache and the settings a quick read uses. Both checkouts read the same store: they must
agree on its schema.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest_lines import generate  # the ingest benchmark's generator

TARGETS = {"--help": 150, "status": 150, "events --request-id": 300, "explain": 300}


def build(data: Path, events: int, thirdbook: list[str]) -> str:
    """The store in `data` (made once) and the request id of a decision in it."""
    log = data.parent / "inference.jsonl"
    if not log.exists():
        generate(log, events)
    if not (data / "thirdbook.db").exists():
        began = time.perf_counter()
        subprocess.run(
            [*thirdbook, "--data-dir", str(data), "ingest", "--once", str(log)],
            check=True,
            capture_output=True,
        )
        print(f"store       {events:,} events ingested in {time.perf_counter() - began:.0f} s")
    with log.open("rb") as lines:
        for n, line in enumerate(lines):
            if n == events * 2 // 3:
                return line.split(b'"request_id":"', 1)[1].split(b'"', 1)[0].decode()
    raise SystemExit(f"{log} has fewer than {events * 2 // 3} lines")


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env)
    wall = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/thirdbook-bench-startup"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--against", type=Path, help="another checkout's src directory")
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("thirdbook"))
    data = args.dir / str(args.events) / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    request_id = build(data, args.events, [script])
    where = ["--data-dir", str(data)]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [script, "--help"],
        "status": [script, "status", *where],
        "events --request-id": [script, "events", "--request-id", request_id, *where],
        "explain": [script, "explain", request_id, *where],
    }
    import thirdbook

    variants = {"this": Path(thirdbook.__file__).parents[1]}
    if args.against is not None:
        variants["against"] = args.against.resolve()
    envs = {}
    for name, src in variants.items():
        compileall.compile_dir(src / "thirdbook", quiet=1)
        envs[name] = {**os.environ, "PYTHONPATH": str(src), "NO_COLOR": "1", "COLUMNS": "120"}
    for env in envs.values():
        for argv in commands.values():
            timed(argv, env)  # the warm-up
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for label, argv in commands.items():
            for name, env in envs.items():
                runs.setdefault((name, label), []).append(timed(argv, env))
    print(f"load        {os.getloadavg()[0]:.1f} (1-minute average) on {os.cpu_count()} CPUs")
    for name, src in variants.items():
        print(f"{name:11} {src}")
    print(f"request id  {request_id} in a store of {args.events:,} events")
    print(f"\n{'whole process, ms':32} {'min':>7} {'median':>7} {'max':>7} {'cpu med':>8}  target")
    for label in commands:
        for name in envs:
            wall = [r[0] for r in runs[name, label]]
            cpu = statistics.median(r[1] for r in runs[name, label])
            target = f"< {TARGETS[label]} ms" if label in TARGETS and name == "this" else ""
            shown = label if len(envs) == 1 else f"{label} ({name})"
            print(
                f"{shown:32} {min(wall):7.0f} {statistics.median(wall):7.0f} {max(wall):7.0f} "
                f"{cpu:8.0f}  {target}"
            )
    if len(envs) > 1:
        print(f"\n{'this / against, paired by round':32} {'min':>7} {'median':>7} {'max':>7}")
        for label in commands:
            ratios = [
                mine[0] / theirs[0]
                for mine, theirs in zip(runs["this", label], runs["against", label], strict=True)
            ]
            print(
                f"{label:32} {min(ratios):7.2f} {statistics.median(ratios):7.2f} {max(ratios):7.2f}"
            )


if __name__ == "__main__":
    main()
