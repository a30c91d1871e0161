"""The lines the ingest benchmark feeds in, one generator per shape.

- "bench": realistic inference records (~750 bytes each), the benchmark's own shape;
- "readme": the README's own inference example ("The event format, v1"), read from the
  README itself, with the request id, subject, time, score and latency varied per line;
- "otlp": the same inferences as OpenTelemetry GenAI spans (`thirdbook.domain.otlp_writer`,
  as the demo's `--otlp` logs are written), one OTLP JSON `TracesData` object a line
  carrying eight inferences (source format "otlp-json").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

README = Path(__file__).resolve().parents[2] / "README.md"
CHUNK = 10_000

_WORDS = (
    "income",
    "requested",
    "months",
    "existing",
    "lines",
    "bureau",
    "score",
    "policy",
    "affordability",
    "threshold",
    "declined",
    "approved",
)


def _stamp(n: int, rng: random.Random) -> str:
    return (
        f"2026-11-27T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:"
        f"{n % 60:02d}.{rng.randrange(1_000_000):06d}+00:00"
    )


def bench_records(lines: int, seed: int = 1) -> Iterator[dict[str, object]]:
    """The benchmark's own inference records."""
    rng = random.Random(seed)
    weights = "sha256:" + "5e" * 32
    for n in range(lines):
        yield {
            "v": 1,
            "kind": "inference",
            "ts": _stamp(n, rng),
            "request_id": f"{rng.getrandbits(128):032x}",
            "subject": f"applicant-{rng.randrange(1_000_000):06d}",
            "route": "model",
            "model": {
                "name": "credit-scorer",
                "version": rng.choice(("v6", "v7")),
                "weights_hash": weights,
            },
            "prompt": {
                "template_id": "credit-decision",
                "template_version": "12",
                "system": "Assess credit applications under policy CR-7.",
                "user": " ".join(rng.choice(_WORDS) for _ in range(6)),
                "retrieved": [{"id": "policy-cr7", "content_hash": "sha256:d5c0ffee"}],
                "tool_outputs": [
                    {"tool": "bureau_lookup", "output": f"score={rng.randrange(380, 820)}"}
                ],
            },
            "response": {
                "decision": rng.choice(("approve", "decline")),
                "score": round(rng.random(), 3),
                "text": "Affordability checked against policy.",
            },
            "action": {"type": "letter"},
            "latency_ms": round(rng.uniform(40, 160), 1),
        }


def readme_example() -> dict[str, object]:
    """The README's inference example, as printed under "The event format, v1"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The event format, v1") :]
    for line in section.splitlines():
        if line.startswith('{"v":1,"kind":"inference"'):
            record: dict[str, object] = orjson.loads(line)
            return record
    raise LookupError(f"no inference example under 'The event format, v1' in {README}")


def readme_records(lines: int, seed: int = 1) -> Iterator[dict[str, object]]:
    """The README's example, one request after another (ids, subjects, times, scores vary)."""
    rng = random.Random(seed)
    example = readme_example()
    for n in range(lines):
        record = dict(example)
        subject = f"applicant-{rng.randrange(1_000_000):06d}"
        record["ts"] = _stamp(n, rng)
        record["request_id"] = f"req-{n:07d}-{rng.getrandbits(32):08x}"
        record["subject"] = subject
        response = dict(record["response"])  # type: ignore[call-overload]
        response["score"] = round(rng.random(), 2)
        response["decision"] = "decline" if response["score"] < 0.5 else "approve"
        record["response"] = response
        action = dict(record["action"])  # type: ignore[call-overload]
        action["target"] = subject
        record["action"] = action
        record["latency_ms"] = round(rng.uniform(40, 160), 1)
        yield record


OTLP_FORMAT = "otlp-json"
"""The source format the "otlp" shape is ingested with."""
OTLP_PER_LINE = 8
"""Inferences a line of the "otlp" shape carries (as a file exporter batches its spans)."""


def jsonl(records: Iterator[dict[str, object]]) -> Iterator[bytes]:
    """The records as thirdbook JSON lines."""
    for record in records:
        yield orjson.dumps(record) + b"\n"


def otlp(events: int, seed: int = 1) -> Iterator[bytes]:
    """The benchmark's inferences as an instrumented application would emit them: each a
    `chat` span with its retrieval and tool spans (three events), `OTLP_PER_LINE` of them
    a `TracesData` line; about `events` events in all."""
    from thirdbook.domain.otlp_writer import otlp_lines

    chunk: list[dict[str, object]] = []
    for record in bench_records(max(1, events // 3), seed):
        chunk.append(record)
        if len(chunk) == OTLP_PER_LINE:
            yield from otlp_lines(chunk, service="bench")
            chunk = []
    if chunk:
        yield from otlp_lines(chunk, service="bench")


SOURCES: dict[str, Callable[[int], Iterator[bytes]]] = {
    "bench": lambda n: jsonl(bench_records(n)),
    "readme": lambda n: jsonl(readme_records(n)),
    "otlp": otlp,
}
"""Each shape's lines, for a count (of lines; of events for "otlp")."""


def write_lines(path: Path, lines: Iterator[bytes]) -> tuple[int, int]:
    """Write the lines; returns (lines, bytes)."""
    count = 0
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for line in lines:
            chunk.append(line)
            count += 1
            if len(chunk) == CHUNK:
                out.write(b"".join(chunk))
                chunk = []
        out.write(b"".join(chunk))
    return count, path.stat().st_size


def generate(path: Path, lines: int, shape: str = "bench") -> int:
    """Write `lines` lines of a shape (the other benchmarks' file); returns its size."""
    return write_lines(path, SOURCES[shape](lines))[1]
