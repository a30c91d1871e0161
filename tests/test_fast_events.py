"""The compiled validator on ingest's hot path agrees with the pydantic models: over corpora
of good and bad lines, ingest with it stores exactly the rows and rejects (reasons included)
that ingest with the models alone stores, and it answers for the lines that matter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from tests.test_fuzz_lines import BASES, CI, RAW_NUMBERS, near_valid, signal
from thirdbook.domain.events import model_of
from thirdbook.domain.fast_events import EVENT_MODELS, TIME_FIELDS, fast_columns, time_us
from thirdbook.domain.line_format import LineEvent, LineReject
from thirdbook.domain.records import to_us
from thirdbook.domain.thirdbook_jsonl import ThirdbookJsonl
from thirdbook.ingest.parse import parse_lines

README = Path(__file__).resolve().parents[1] / "README.md"
FAST = ThirdbookJsonl()


class ModelsOnly:
    """The thirdbook format without its fast path: every line through the models."""

    name = "thirdbook"

    def parse_line(self, line: bytes) -> Sequence[LineEvent] | LineReject:
        return FAST.parse_line(line)


SLOW = ModelsOnly()


def readme_examples() -> list[bytes]:
    """The example lines of every kind under "The event format, v1" in the README."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The event format, v1") :]
    return [line.encode() for line in section.splitlines() if line.startswith('{"v":1,')]


KINDS = {
    **BASES,
    "span": {
        "request_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "operation": "execute_tool",
        "name": "bureau_lookup",
        "tool_output": {"tool": "bureau_lookup", "output": "score=612", "call_id": "c-1"},
    },
}
"""A well-formed event of every kind."""


def base_line(kind: str, **changes: object) -> bytes:
    record = {"v": 1, "kind": kind, "ts": "2026-11-27T10:00:00.5+01:00", **KINDS[kind]}
    record.update(changes)
    return json.dumps(record, separators=(",", ":")).encode()


GOOD = [
    *readme_examples(),
    *(base_line(kind) for kind in KINDS),
    base_line(
        "inference",
        model={"name": "m", "version": "v1", "alias": "serving"},
        response={"text": "t", "tool_calls": [{"id": "c-1", "name": "f", "arguments": "{}"}]},
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
    ),
    base_line("inference", extra={"deeper": [1, 2.5, None, True, "x"]}),  # an unknown key
    base_line("inference", request_id="é\n\u0000😀", subject=None, ts="2026-11-27T10:00:00Z"),
    base_line("inference", ts="1970-01-01T00:00:00Z", latency_ms=0),
    base_line("metric", ts="9999-12-30T23:59:59.999999Z", value=1.7976931348623157e308),
    base_line("inference", route="human", model=None, routed_from="credit-scorer"),
    base_line("inference", v=1, event_id="e-1", prompt={"retrieved": [], "tool_outputs": []}),
    b'  {"kind":"change","ts":"2026-11-27T10:00:00-23:59","change_type":"deploy"}\r',
    b'{"kin\\u0064":"feedback","ts":"2026-11-27T10:00:00+00:00","target":"m","category":"c"}',
    b'{"kind":"feedback","ts":"2026-11-27T10:00:00+00:00","target":"m","category":"c","z":1e-400}',
]
"""Lines every validator must accept, with the same columns."""

_BASE = b'"kind":"inference","ts":"2026-11-27T10:00:00+00:00","request_id":"r"'
NUMBERS = [
    *(b"{" + _BASE + b',"z":' + raw + b"}" for raw in RAW_NUMBERS),
    *(b"{" + _BASE + b',"latency_ms":' + raw + b"}" for raw in RAW_NUMBERS),
]
"""Every kind of number JSON (and not-JSON) has, where the models read one and where not."""

BAD_OR_SLOW = [
    *(b"{" + _BASE + b',"z":' + raw + b"}" for raw in (b"1e999", b"-1E400", b"1" + b"0" * 400)),
    b"{" + _BASE + b',"z":"\xff\xfe"}',  # invalid UTF-8 where only a skipping reader goes
    b"{" + _BASE + b',"z":"\\ud800"}',
    b"{" + _BASE + b',"z":' + b"[" * 150 + b"]" * 150 + b"}",  # deeper than the models read
    b"{" + _BASE + b',"z":' + b'{"a":' * 130 + b"1" + b"}" * 130 + b"}",
    b"{" + _BASE + b',"kind":"metric"}',  # a second kind
    b'{"kind":"metric",' + _BASE + b"}",
    b"{" + _BASE + b',"v":true}',  # the models read true as 1
    b"{" + _BASE + b',"v":2}',
    b"{" + _BASE + b',"latency_ms":"0.5"}',  # the models read a number in a string
    b"{" + _BASE + b',"latency_ms":-1}',
    base_line("inference", ts="2026-11-27T10:00:00.1234567Z"),  # a seventh digit: truncated
    base_line("inference", ts="2026-11-27 10:00:00Z"),
    base_line("inference", ts="2026-11-27T10:00Z"),
    base_line("inference", ts="2026-11-27T10:00:00,5Z"),
    base_line("inference", ts="2026-12-31T23:59:60Z"),
    base_line("inference", ts="2026-11-27T10:00:1Z"),
    base_line("inference", ts="2026-11-27T10:00:61Z"),
    base_line("inference", ts="2026-11-27T10:00:11.Z"),
    base_line("inference", ts="2026-11-27T10:00:11.+00:00"),
    base_line("inference", ts="2026-11-27T10:60:11+00:00"),
    base_line("inference", ts="2026-11-27T10:00:11+00:60"),
    base_line("inference", ts="２０２６-11-27T10:00:11Z"),
    base_line("inference", ts="2026-11-27T10:00:11z"),
    base_line("inference", ts="2026-02-30T10:00:00Z"),
    base_line("inference", ts="9999-12-31T23:59:59-14:00"),  # past the store's range
    base_line("inference", ts="1969-12-31T23:59:59.999999Z"),
    base_line("inference", ts=1764237600),  # a Unix time
    base_line("metric", window_end="9999-12-31T23:59:59-14:00"),
    base_line("inquiry", due="2026-11-28T10:00:00"),
    base_line("inference", route="nowhere"),
    base_line("inference", model={"name": "m"}),
    base_line("inference", prompt={"retrieved": [{"content_hash": "h"}]}),
    b"{" + _BASE + b"} trailing",
    b"\xef\xbb\xbf{" + _BASE + b"}",
    b"[1, 2]",
    b"{}",
    b"",
    b"   ",
    b"NaN",
    b"\x00",
]
"""Lines some validator refuses or only the models can read."""


def rows(lines: list[bytes], line_format: object) -> tuple[list[object], list[object]]:
    data = b"".join(line + b"\n" for line in lines)
    return parse_lines(data, 0, 7, 1_800_000_000_000_000, 1 << 20, line_format)  # type: ignore[arg-type]


def assert_agrees(lines: list[bytes]) -> None:
    """Ingest with the fast path stores what ingest with the models alone stores."""
    assert rows(lines, FAST) == rows(lines, SLOW)
    for line in lines:
        columns = fast_columns(line)
        if columns is None:
            continue
        found = FAST.parse_line(line)
        assert not isinstance(found, LineReject), (line, found)
        (event,) = (e.event for e in found)
        assert columns == (
            to_us(event.ts),
            event.kind,
            getattr(event, "request_id", None),
            getattr(event, "subject", None),
            *model_of(event),
            getattr(event, "route", None) if event.kind == "inference" else None,
        ), line


def test_the_fast_path_reads_every_good_line_as_the_models_do() -> None:
    assert all(fast_columns(line) is not None for line in GOOD), [
        line for line in GOOD if fast_columns(line) is None
    ]
    assert_agrees(GOOD)


def test_every_line_the_fast_path_cannot_vouch_for_goes_to_the_models() -> None:
    assert all(fast_columns(line) is None for line in BAD_OR_SLOW), [
        line for line in BAD_OR_SLOW if fast_columns(line) is not None
    ]
    assert_agrees(BAD_OR_SLOW)
    assert rows(BAD_OR_SLOW, FAST)[1], "the corpus holds lines the models refuse"


def test_numbers_of_every_kind_are_read_alike() -> None:
    assert_agrees(NUMBERS)
    assert any(fast_columns(line) is not None for line in NUMBERS)


@CI
@given(st.lists(st.one_of(near_valid(), signal()), min_size=1, max_size=30))
def test_generated_lines_get_the_same_rows_and_reasons_with_or_without_it(
    lines: list[bytes],
) -> None:
    assert_agrees(lines)


def test_the_compiled_types_are_generated_from_every_model_field() -> None:
    for model in EVENT_MODELS:
        kind = model.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
        line = base_line(kind)
        assert fast_columns(line) is not None
        for name in model.model_fields:
            if name in ("kind", "v"):
                continue
            # A value of a type no field of the models takes: both refuse it.
            wrong = base_line(kind, **{name: [True]})
            assert fast_columns(wrong) is None, name
            assert isinstance(FAST.parse_line(wrong), LineReject), name
    assert TIME_FIELDS == {
        "inference": (),
        "metric": ("window_start", "window_end"),
        "feedback": (),
        "agent_action": (),
        "change": (),
        "inquiry": ("due",),
        "span": (),
    }


AWARE = TypeAdapter(AwareDatetime)
ODD = st.sampled_from(["", "0", "1", "99", "x", "١٢"])


def field(top: int) -> st.SearchStrategy[str]:
    """Two digits, mostly at or just past the edges of what the field allows."""
    return st.integers(0, top + 1).map(lambda n: f"{n:02d}") | ODD


@CI
@given(
    st.tuples(
        st.sampled_from(["2026", "1970", "9999", "0000", "0001", "1969", "20261"]),
        field(12),
        field(31),
        st.sampled_from(["T", "T", "T", "t", " ", "_"]),
        field(23),
        field(59),
        field(59),
        st.sampled_from(["", ".", ".5", ".123456", ".1234567", ",5", ".12a"]),
        st.sampled_from(["Z", "z", "", "+", "-"]),
        field(23),
        st.sampled_from([":", ":", "", "."]),
        field(59),
    )
)
def test_a_time_is_read_as_the_models_read_it_or_left_to_them(parts: tuple[str, ...]) -> None:
    year, month, day, sep, hour, minute, second, fraction, sign, oh, colon, om = parts
    zone = sign if sign in ("Z", "z", "") else f"{sign}{oh}{colon}{om}"
    text = f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{zone}"
    us = time_us(text)
    if us is None:
        return
    try:
        expected = to_us(AWARE.validate_json(json.dumps(text)))
    except ValidationError as exc:
        raise AssertionError(f"{text!r} is read as {us}, the models refuse it") from exc
    assert us == expected, text
