"""Formats behind a seam: chosen by a source's `format`, one line to many events, each event
at its line's offset and its index in the line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import FAST, event_line, reject_reasons, stored_request_ids
from tests.multi_event_format import EventArrays, array_line
from thirdbook.cli import main
from thirdbook.config import ConfigError, SourceConfig, parse_settings
from thirdbook.domain.events import EVENT_ADAPTER
from thirdbook.domain.formats import known_formats, register
from thirdbook.domain.line_format import LineEvent, LineReject
from thirdbook.ingest import ingester as ingester_module
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import Store

FAR = b"9999-12-31T23:59:59"  # past the largest time the store keeps


class FailingOnBoom:
    """A format with a bug: it raises on any line that says boom."""

    name = "test-failing-on-boom"

    def parse_line(self, line: bytes) -> Sequence[LineEvent] | LineReject:
        if b"boom" in line:
            raise RuntimeError("boom")
        return (LineEvent(EVENT_ADAPTER.validate_json(line)),)


register(FailingOnBoom())


def arrays(*paths: Path, name: str = "arrays") -> SourceConfig:
    return SourceConfig(name=name, paths=[str(p) for p in paths], format=EventArrays.name)


async def positions(store: Store) -> list[tuple[str, int, int, bytes]]:
    """(request id, byte offset, index in the line, raw) of every event, in store order."""
    rows = await store.fetchall(
        "SELECT request_id, byte_offset, line_index, raw FROM events ORDER BY id"
    )
    return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]


async def ingest(store: Store, sources: list[SourceConfig]) -> Ingester:
    ingester = Ingester(store, sources, FAST)
    await ingester.run(asyncio.Event(), once=True)
    return ingester


def test_an_unknown_format_is_a_config_error_that_names_the_known_ones() -> None:
    assert known_formats()[0] == "thirdbook"
    text = '[[sources]]\nname = "spans"\npaths = ["/var/log/x"]\nformat = "otlp"\n'
    with pytest.raises(ConfigError) as err:
        parse_settings(text, "t.toml")
    known = ", ".join(known_formats())
    assert f"sources[0].format: unknown format 'otlp'; the known formats are: {known}" in str(
        err.value
    )
    assert parse_settings(text.replace("otlp", EventArrays.name)).sources[0].format == (
        EventArrays.name
    )
    assert parse_settings(text.replace('format = "otlp"\n', "")).sources[0].format == "thirdbook"


def test_config_check_refuses_an_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "thirdbook.toml").write_text(  # THIRDBOOK_CONFIG points here
        f'[[sources]]\nname = "spans"\npaths = ["{tmp_path}/x"]\nformat = "otlp-proto"\n'
    )
    result = CliRunner().invoke(main, ["config", "--check"])
    assert result.exit_code == 1
    assert (
        "unknown format 'otlp-proto'; the known formats are: thirdbook, otlp-json" in result.output
    )


async def test_a_line_of_many_events_stores_each_at_its_offset_and_index(
    store: Store, tmp_path: Path
) -> None:
    three = array_line(event_line(0), event_line(1), event_line(2))
    none = b"[]\n"
    one = array_line(event_line(3))
    not_an_array = event_line(4)
    far = array_line(event_line(5), event_line(6).replace(b"2026-11-27T10:00:06", FAR))
    last = array_line(event_line(7), event_line(8))
    content = three + none + one + not_an_array + far + last
    (tmp_path / "a.log").write_bytes(content)
    (tmp_path / "b.jsonl").write_bytes(event_line(9))
    plain = SourceConfig(name="plain", paths=[str(tmp_path / "b.jsonl")])
    await (await ingest(store, [arrays(tmp_path / "a.log"), plain])).release()

    found = await positions(store)
    at = {line: content.index(line) for line in (three, one, last)}
    assert [(r, o, i) for r, o, i, _ in found] == [
        ("req-00000000", at[three], 0),
        ("req-00000001", at[three], 1),
        ("req-00000002", at[three], 2),
        ("req-00000003", at[one], 0),
        ("req-00000007", at[last], 0),
        ("req-00000008", at[last], 1),
        ("req-00000009", 0, 0),  # the other source's format: one event a line
    ]
    # Each event of an array is stored as its own JSON; a one-event line as the line itself.
    assert json.loads(found[1][3]) == json.loads(event_line(1))
    assert found[-1][3] == event_line(9).rstrip(b"\n")
    rejects = await reject_reasons(store)
    assert [(o, raw + b"\n") for o, _, raw in rejects] == [
        (content.index(not_an_array), not_an_array),
        (content.index(far), far),  # whole: none of its events is stored
    ]
    assert rejects[0][1] == "wrong shape: a line must be a JSON array of events"
    assert rejects[1][1].startswith("event 1 of the line: ts 9999-12-31T23:59:59")
    assert "is outside the times the store keeps" in rejects[1][1]
    page = await store.events.page(limit=10)
    assert [(e.byte_offset, e.line_index) for e in reversed(page.items)][:3] == [
        (0, 0),
        (0, 1),
        (0, 2),
    ]


async def test_a_format_that_fails_on_a_line_costs_that_line_only(
    store: Store, tmp_path: Path
) -> None:
    boom = event_line(1).replace(b"applicant-1", b"boom")
    (tmp_path / "a.log").write_bytes(event_line(0) + boom + event_line(2))
    failing = SourceConfig(name="f", paths=[str(tmp_path / "a.log")], format=FailingOnBoom.name)
    await (await ingest(store, [failing])).release()
    assert await stored_request_ids(store) == ["req-00000000", "req-00000002"]
    [(offset, reason, raw)] = await reject_reasons(store)
    assert (offset, raw + b"\n") == (len(event_line(0)), boom)
    assert reason == "the test-failing-on-boom format failed on this line: RuntimeError('boom')"


async def test_parse_workers_read_lines_in_the_sources_format(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingester_module, "PARALLEL_BACKLOG", 0)  # any backlog: to the workers
    lines = [array_line(*(event_line(3 * n + k) for k in range(n % 4))) for n in range(400)]
    (tmp_path / "a.log").write_bytes(b"".join(lines))
    ingester = await ingest(store, [arrays(tmp_path / "a.log")])
    try:
        assert ingester.parsers.worker_pids(), "the batches were not parsed by the workers"
        assert ingester.parsers.usable and not ingester.status.problems
    finally:
        await ingester.release()
    expected = [
        (f"req-{3 * n + k:08d}", sum(map(len, lines[:n])), k)
        for n in range(400)
        for k in range(n % 4)
    ]
    assert [(r, o, i) for r, o, i, _ in await positions(store)] == expected
    assert await store.events.reject_count() == 0
