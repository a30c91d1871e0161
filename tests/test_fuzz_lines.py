"""Fuzzing: generated lines (random bytes, and near-valid events of every kind with hostile
values) go through real ingest, then through every read path; none may crash, every line
is an event or a reject, and every JSON output is standard JSON.

Deterministic (derandomized, no example database); `-s` shows how many lines were tried.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import FAST, source
from tests.read_paths import RULES, read_everything, run_first_screen
from thirdbook.config import Settings
from thirdbook.domain.records import in_store_range
from thirdbook.services.factory import build_services
from thirdbook.store import Store

LINES_TRIED = {"commands": 0, "console": 0}
SMALL_LINES = FAST.model_copy(update={"max_line_bytes": 4096})  # over-long lines are tried too

MARKUP = ["[@click=app.quit]x[/]", "[link=file:///etc/passwd]y[/]", "[bold red]z", "[/]", "[", "\\"]
CONTROLS = [
    "\x1b]0;pwned\x07",
    "\x1b]52;c;aGk=\x07",
    "\x1b]8;;http://x\x1b\\l\x1b]8;;\x1b\\",
    "\x1b[2J",
    "\x1bP1$r\x1b\\",
    "\u009b31m",
    "\u0085",
    "\x07",
    "\x08",
    "\r",
    "\x7f",
    "\x00",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u2028",
    "\ufeff",
    "\ud800",
    "\udfff",
]
UNICODE = ["é", "\u0301" * 40, "漢字" * 30, "👩‍👩‍👧‍👦", "مرحبا", "\U0010ffff", "ﷺ"]
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(MARKUP + CONTROLS + UNICODE) | st.text(max_size=5), max_size=6).map(
        "".join
    ),
    st.integers(1, 3000).map(lambda n: "x" * n),
)
RAW_NUMBERS = [
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1E400",
    b"1" + b"0" * 400,
    b"1" + b"0" * 400 + b".0",
    b"1e-999",
    b"-0",
    b"01",
    b"1.",
    b".5",
    b"+1",
    b"0x10",
    b"9" * 30,
    b"1" * 5000,
    b"nan",
    b"inf",
    b"true",
    b"null",
]
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),  # json.dumps writes NaN and Infinity
    st.sampled_from(["NaN", "inf", "-Infinity", "1e999", "0.9", "", "  1 "]),
)
ZONES = [
    UTC,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-14)),
    timezone(timedelta(hours=23, minutes=59)),
    timezone(-timedelta(hours=23, minutes=59)),
]
TIMES = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T23:59:59.999999+00:00",
            "0001-01-01T00:00:00+14:00",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999Z",
            "9999-12-30T23:59:59.999999Z",
            "2026-02-30T00:00:00Z",
            "2026-11-27T10:00:00",
            "2026-11-27T10:00:00+24:00",
            "2026-11-27 10:00:00Z",
            "2026-11-27T10:00:00.1234567Z",
            "2026-W48-5T10:00Z",
            "",
            "now",
            "253402300800",
            "-62135596800",
            "99999999999999999999",
        ]
    ),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(ZONES),
    ).map(datetime.isoformat),
    st.integers(-(2**70), 2**70),  # Unix times
    st.floats(allow_nan=True, allow_infinity=True),
)
NESTED = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
VALUES = st.one_of(
    TEXT,
    NUMBERS,
    TIMES,
    NESTED,
    st.integers(1, 400).map(lambda d: ("deep", d)),
    st.sampled_from(RAW_NUMBERS).map(lambda raw: ("raw", raw)),
)

MODEL = {"name": "m", "version": "v1", "weights_hash": "sha256:ab"}
BASES: dict[str, dict[str, Any]] = {
    "inference": {
        "request_id": "req-1",
        "subject": "s-1",
        "route": "model",
        "model": MODEL,
        "prompt": {
            "system": "sys",
            "user": "u",
            "template_id": "t",
            "retrieved": [{"id": "d", "content_hash": "h"}],
            "tool_outputs": [{"tool": "t", "output": "o"}],
        },
        "response": {"text": "ok", "decision": "approve", "score": 0.5},
        "action": {"type": "send", "target": "x"},
        "latency_ms": 3.0,
    },
    "metric": {
        "model": MODEL,
        "metric": "acc",
        "value": 0.9,
        "window_start": "2026-11-27T09:59:50+00:00",
        "window_end": "2026-11-27T10:00:00+00:00",
    },
    "feedback": {"target": "m", "category": "wrong", "request_id": "req-1", "text": "bad"},
    "agent_action": {
        "agent": "agent",
        "tool": "ok",
        "target": "acct-1",
        "amount": 5.0,
        "currency": "GBP",
        "outcome": "ok",
    },
    "change": {"change_type": "deploy", "model": MODEL, "description": "d", "actor": "ci"},
    "inquiry": {
        "inquiry_id": "INQ-1",
        "source": "regulator",
        "request_id": "req-1",
        "question": "why?",
        "due": "2026-11-28T10:00:00+00:00",
    },
}
PATHS = [(key,) for base in BASES.values() for key in base] + [
    ("model", "name"),
    ("model", "version"),
    ("model", "weights_hash"),
    ("prompt", "user"),
    ("prompt", "retrieved"),
    ("response", "score"),
    ("response", "text"),
    ("ts",),
    ("v",),
    ("kind",),
    ("event_id",),
    ("extra",),
    ("extra", "deeper"),
]


def _put(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        inner = record.get(key)
        record[key] = inner = dict(inner) if isinstance(inner, dict) else {}
        record = inner
    record[path[-1]] = value


def _dump(record: dict[str, Any], ascii_only: bool) -> bytes:
    """The record as one line; ("raw", token) and ("deep", depth) values are spliced in as
    bytes JSON has no other way to write (NaN, 1e999, 400 nested lists)."""
    spliced: list[bytes] = []

    def mark(value: Any) -> Any:
        if isinstance(value, tuple) and len(value) == 2 and value[0] in ("raw", "deep"):
            spliced.append(value[1] if value[0] == "raw" else b"[" * value[1] + b"]" * value[1])
            return f"\x00splice{len(spliced) - 1}\x00"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(record), ensure_ascii=ascii_only, separators=(",", ":"))
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8
    for n, raw in enumerate(spliced):
        data = data.replace(f'"\\u0000splice{n}\\u0000"'.encode(), raw)
    return data


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    """An event of some kind with a few hostile values (and sometimes a required one gone),
    sometimes with bytes flipped or cut afterwards."""
    kind = draw(st.sampled_from(sorted(BASES)))
    record: dict[str, Any] = {
        "v": 1,
        "kind": kind,
        "ts": "2026-11-27T10:00:00+00:00",
        **json.loads(json.dumps(BASES[kind])),
    }
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=4)):
        _put(record, path, draw(VALUES))
    for key in draw(st.lists(st.sampled_from(sorted(record)), max_size=1)):
        del record[key]
    data = _dump(record, draw(st.booleans()))
    mutation = draw(st.sampled_from(["none"] * 6 + ["insert", "cut", "crlf", "bom"]))
    if mutation == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    elif mutation == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif mutation == "crlf":
        data += b"\r"
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    return data.replace(b"\n", b"\\n")


FINITE = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, 0.7, 0.1]
)
"""Numbers JSON has, the extremes often: a chart must place 1.8e308 and -1.8e308 together."""


@st.composite
def signal(draw: st.DrawFn) -> bytes:
    """A well-formed line that the rules judge: a metric in or out of its band, a report, an
    agent action, an inquiry; with hostile names, so alerts carry them."""
    kind = draw(st.sampled_from(["metric", "feedback", "agent_action", "inquiry"]))
    record: dict[str, Any] = {"v": 1, "kind": kind, **BASES[kind]}
    record["ts"] = draw(
        st.datetimes(
            min_value=datetime(1970, 1, 2),
            max_value=datetime(9999, 12, 29),
            timezones=st.sampled_from(ZONES),
        )
    ).isoformat()
    if kind == "metric":
        record["value"] = draw(FINITE)
        record["window_end"] = record["ts"]
    elif kind == "feedback":
        record["target"] = draw(TEXT)
    elif kind == "agent_action":
        record.update(tool=draw(TEXT), amount=draw(FINITE))
    else:
        record["request_id"] = draw(st.sampled_from(["req-1", "nope"]) | TEXT)
    return json.dumps(record).encode()


LINE = st.one_of(st.binary(min_size=1, max_size=120), near_valid(), near_valid(), signal())


async def _ingest(store_path: Path, log: Path) -> tuple[int, int]:
    store = await Store.open(store_path)
    try:
        console = build_services(
            store, Settings(ingest=SMALL_LINES), sources=source(log), triggers=RULES, ingest=True
        )
        await console.ingest.run(asyncio.Event(), once=True)
        await console.ingest.ingester.release()
        assert not console.ingest.ingester.status.problems, console.ingest.ingester.status.problems
        events = await store.fetchall("SELECT ts_us, raw FROM events")
        for ts_us, raw in events:  # what was kept is standard JSON at a time the store keeps
            assert in_store_range(ts_us), (ts_us, bytes(raw))
            orjson.loads(bytes(raw).removeprefix(b"\xef\xbb\xbf"))
        rejects = await store.fetchall("SELECT count(*) FROM rejects")
        return len(events), int(rejects[0][0])
    finally:
        await store.close()


def _ingest_lines(folder: Path, lines: list[bytes]) -> tuple[Path, int]:
    """Write the lines to a log and ingest it; every line must be an event or a reject."""
    log = folder / "serving.jsonl"
    data = b"".join(line + b"\n" for line in lines)
    log.write_bytes(data)
    store_path = folder / "data" / "thirdbook.db"
    events, rejects = asyncio.run(_ingest(store_path, log))
    assert events + rejects == data.count(b"\n")
    return store_path, data.count(b"\n")


CI = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@settings(CI, max_examples=25)
@given(st.lists(LINE, min_size=150, max_size=400))
def _fuzz_commands(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store_path, count = _ingest_lines(Path(folder), lines)
        LINES_TRIED["commands"] += count
        read_everything(store_path.parent)


@settings(CI, max_examples=4)
@given(st.lists(LINE, min_size=60, max_size=200))
def _fuzz_console(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store_path, count = _ingest_lines(Path(folder), lines)
        LINES_TRIED["console"] += count
        run_first_screen(store_path, RULES, rows=False)


def test_generated_lines_break_no_command() -> None:
    LINES_TRIED["commands"] = 0
    _fuzz_commands()
    print(
        f"\nfuzz: {LINES_TRIED['commands']} generated lines through ingest, then events, "
        "events --json, status, alerts, alerts --json, rejects, rejects --json"
    )
    assert LINES_TRIED["commands"] >= 25 * 150


def test_generated_lines_break_no_console_first_screen() -> None:
    LINES_TRIED["console"] = 0
    _fuzz_console()
    print(
        f"\nfuzz: {LINES_TRIED['console']} generated lines through ingest, then the "
        "console's first screen"
    )
    assert LINES_TRIED["console"] >= 4 * 60
