"""No line can break a reader: times the store cannot keep and numbers JSON does not have are
refused at ingest with a reason, and rows an older version stored anyway are read safely."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from tests.helpers import FAST, ingest_once, reject_reasons, source, stored_raw
from tests.read_paths import (
    RULES,
    RULES_TOML,
    read_everything,
    run_command,
    run_first_screen,
    strict_json,
)
from thirdbook.config import Settings
from thirdbook.domain.alerts import Firing
from thirdbook.domain.records import TS_FIRST, TS_LAST, TS_LAST_US, lookup_key, to_us
from thirdbook.domain.text import terminal_json
from thirdbook.services.factory import Context, Services, build_services, open_services
from thirdbook.store import Store
from thirdbook.store.ingest_rows import EventTuple
from thirdbook.store.ingest_state import now_us


def line(kind: str, ts: str = "2026-11-27T10:00:00+00:00", **fields: object) -> bytes:
    """A v1 line of `kind` with the fields its kind needs, overridden by `fields`."""
    needs: dict[str, dict[str, object]] = {
        "inference": {"request_id": "req-1"},
        "metric": {"model": {"name": "m", "version": "v1"}, "metric": "acc", "value": 0.9},
        "feedback": {"target": "m", "category": "wrong"},
        "agent_action": {"agent": "agent", "tool": "ok"},
        "change": {"change_type": "deploy"},
        "inquiry": {"inquiry_id": "INQ-1", "source": "regulator", "request_id": "req-1"},
    }
    record = {"v": 1, "kind": kind, "ts": ts, **needs[kind], **fields}
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


async def _ingest(store: Store, tmp_path: Path, data: bytes) -> list[tuple[int, str, bytes]]:
    log = tmp_path / "serving.jsonl"
    log.write_bytes(data)
    await ingest_once(store, source(log))
    return await reject_reasons(store)


async def test_time_outside_what_the_store_keeps_is_rejected_with_its_reason(
    store: Store, tmp_path: Path
) -> None:
    refused = [
        line("change", "9999-12-31T23:59:59-14:00"),
        line("change", "9999-12-31T00:00:00+00:00"),
        line("change", "9999-12-30T23:59:59.999999-00:01"),  # 9999-12-31T00:00:59Z
        line("change", "0001-01-01T00:00:00+14:00"),
        line("feedback", "1969-12-31T23:59:59.999999+00:00"),
        line("metric", window_end="9999-12-31T23:59:59-14:00"),
        line("metric", window_start="0001-01-01T00:00:00+00:00"),
        line("inquiry", due="9999-12-31T12:00:00+00:00"),
        line("change", -1),  # a Unix time, one second before 1970
    ]
    kept = [
        line("change", "1970-01-01T00:00:00+00:00"),
        line("change", "9999-12-30T23:59:59.999999+00:00"),
        line("change", "9999-12-31T09:59:59.999999+10:00"),  # the same instant
        line("metric", window_end="2026-11-27T10:00:00+00:00"),
    ]
    rejects = await _ingest(store, tmp_path, b"".join(refused + kept))
    assert [raw + b"\n" for _, _, raw in rejects] == refused  # verbatim, in order
    reasons = [reason for _, reason, _ in rejects]
    keeps = "is outside the times the store keeps (1970-01-01T00:00:00Z to "
    assert reasons[0] == f"ts 9999-12-31T23:59:59-14:00 {keeps}9999-12-30T23:59:59.999999Z)"
    assert all(keeps in reason for reason in reasons)
    assert [r.split()[0] for r in reasons] == ["ts"] * 5 + [
        "window_end",
        "window_start",
        "due",
        "ts",
    ]
    assert [raw + b"\n" for raw in await stored_raw(store)] == kept
    rows = await store.fetchall("SELECT ts_us FROM events ORDER BY id")
    assert [r[0] for r in rows] == [
        0,
        TS_LAST_US,
        TS_LAST_US,
        to_us(datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ]


async def test_nan_infinity_and_overflowing_numbers_are_rejected_as_invalid_json(
    store: Store, tmp_path: Path
) -> None:
    metric = line("metric").rstrip(b"\n")
    refused = [
        metric.replace(b'"value":0.9', b'"value":NaN') + b"\n",
        metric.replace(b'"value":0.9', b'"value":-Infinity') + b"\n",
        metric.replace(b'"value":0.9', b'"value":1e999') + b"\n",
        # Anywhere in a line, not only in the fields thirdbook reads:
        metric.replace(b'"v":1,', b'"v":1,"extra":{"deep":[1,Infinity]},') + b"\n",
        metric.replace(b'"v":1,', b'"v":1,"note":-1.5E400,') + b"\n",
        metric.replace(b'"v":1,', b'"v":1,"big":1' + b"0" * 400 + b".5,") + b"\n",
    ]
    as_strings = [  # valid JSON, but not a number a band can judge
        metric.replace(b'"value":0.9', b'"value":"NaN"') + b"\n",
        line("agent_action", amount="inf"),
    ]
    kept = [metric.replace(b'"v":1,', b'"v":1,"tiny":1e-999,') + b"\n"]  # underflow is 0.0
    rejects = await _ingest(store, tmp_path, b"".join(refused + as_strings + kept))
    reasons = [reason for _, reason, _ in rejects]
    assert reasons[0] == "invalid JSON: NaN is not a JSON number at line 1 column 116"
    assert reasons[1].startswith("invalid JSON: Infinity is not a JSON number")
    assert reasons[2] == "invalid JSON: 1e999 is beyond the range of a double at line 1 column 116"
    assert reasons[3].startswith("invalid JSON: Infinity is not a JSON number")
    assert reasons[4].startswith("invalid JSON: -1.5E400 is beyond the range of a double")
    assert reasons[5].startswith("invalid JSON: 1000") and "beyond the range" in reasons[5]
    assert reasons[6] == "wrong shape: value: Input should be a finite number"
    assert reasons[7] == "wrong shape: amount: Input should be a finite number"
    assert [raw + b"\n" for _, _, raw in rejects] == refused + as_strings
    assert [raw + b"\n" for raw in await stored_raw(store)] == kept


async def _ingest_judged(store: Store, log: Path) -> Services:
    """One console process ingesting `log` to its end, judging it with `RULES`."""
    console = build_services(
        store, Settings(ingest=FAST), sources=source(log), triggers=RULES, ingest=True
    )
    await console.ingest.run(asyncio.Event(), once=True)
    await console.ingest.ingester.release()
    return console


async def test_nan_metric_is_a_reject_not_an_event_and_the_band_still_judges(
    store: Store, tmp_path: Path
) -> None:
    metric = line("metric").rstrip(b"\n")
    nan, low = metric.replace(b"0.9", b"NaN"), metric.replace(b"0.9", b"0.1")
    log = tmp_path / "metrics.jsonl"
    log.write_bytes(nan + b"\n" + low + b"\n")
    console = await _ingest_judged(store, log)
    [(offset, reason, raw)] = await reject_reasons(store)
    assert (offset, raw) == (0, nan)
    assert reason.startswith("invalid JSON: NaN is not a JSON number")
    assert await stored_raw(store) == [low]
    [alert] = (await console.queries.alerts()).items
    assert alert.summary == "m v1 acc outside [0.5, 1] for 1 consecutive windows (latest 0.1)"


def _as_an_older_version_stored(raw: bytes, ts_us: int) -> EventTuple:
    """The row a version before this check wrote for `raw` (which it accepted)."""
    body = json.loads(raw)  # Python's json reads NaN and Infinity, as that version's parser did
    model = body.get("model") or {}
    name = body.get("agent") or body.get("target") or model.get("name")
    return (
        ts_us,
        body["kind"],
        body.get("request_id"),
        lookup_key(body.get("request_id")),
        body.get("subject"),
        lookup_key(body.get("subject")),
        name,
        model.get("version"),
        model.get("weights_hash"),
        body.get("route"),
        0,
        0,
        0,
        now_us(),
        raw,
    )


FAR = "9999-12-31T23:59:59-14:00"  # 10000-01-01T13:59:59Z: past the largest Python time
EARLY = "0001-01-01T00:00:00+14:00"  # 0000-12-31T10:00:00Z: before the smallest
HOSTILE = "\u009b31m\u202e[@click=app.quit]x[/]\u001b]52;c;aGk=\u0007\u007f"
OLD_LINES: list[tuple[bytes, int | None]] = [
    (line("change", FAR), None),
    (line("feedback", FAR, target=HOSTILE), None),  # the engine adds its window to this
    (line("feedback", FAR, target=HOSTILE), None),
    (line("metric", EARLY, window_end=EARLY), None),
    (line("metric", FAR, window_end=FAR, value=0.1), None),
    (line("metric").replace(b"0.9", b"NaN"), None),
    (line("metric").replace(b"0.9", b"1e999"), None),
    (line("agent_action", FAR, amount=1e9, target=HOSTILE), None),
    (line("agent_action").replace(b'"tool":"ok"', b'"tool":"ok","amount":-Infinity'), None),
    (line("inference", FAR, subject=HOSTILE, request_id="req-far"), None),
    (line("inquiry", due=FAR, request_id="req-far"), None),
    (line("change"), 2**63 - 1),  # ts_us at both ends of SQLite's integers
    (line("change"), -(2**63)),
]


async def _fill_as_an_older_version(store: Store, tmp_path: Path) -> None:
    """Rows, alerts and ingest figures as a version without these checks left them, written
    through the store's own calls."""
    holder = "older-version"
    assert await store.leases.try_acquire(holder, user="old", ttl_s=60)
    tracked = await store.ingest.add_file(
        holder,
        source="old",
        path=str(tmp_path / "old.jsonl"),
        dev=1,
        ino=1,
        head_len=0,
        head_hash="",
    )
    rows, offset = [], 0
    for raw, ts_us in OLD_LINES:
        body = raw.rstrip(b"\n")
        ts = json.loads(body)["ts"]
        stamp = ts_us if ts_us is not None else to_us(datetime.fromisoformat(ts))
        row = _as_an_older_version_stored(body, stamp)
        rows.append((*row[:10], tracked.id, offset, *row[12:]))
        offset += len(raw)
    await store.ingest.commit_batch(
        holder,
        file_id=tracked.id,
        events=rows,
        rejects=[],
        start=0,
        offset=offset,
        tail_hash="",
        head_len=0,
        head_hash="",
        size_seen=offset,
        path=tracked.path,
    )
    await store.ingest.save_progress(
        events_total=len(rows),
        rejects_total=0,
        backlog_bytes=0,
        last_event_ts_us=2**63 - 1,
        caught_up_us=-(2**63),
        paused_reason=None,
    )
    await store.leases.release(holder)
    far = datetime.fromisoformat(FAR)
    for firing in (
        Firing(
            rule="acc band",
            kind="drift",
            key="m v1",
            event_ids=(4, 5),
            at=far,
            summary="m v1 acc outside [0.5, 1] for 1 consecutive windows (latest 0.1)",
        ),
        Firing(
            rule="reports",
            kind="feedback",
            key=f"{HOSTILE} wrong",
            event_ids=(2, 3),
            at=datetime.fromisoformat(EARLY),
            summary=f"2 reports against {HOSTILE}",
        ),
    ):
        await store.alerts.record(firing)


async def _older_store(path: Path, tmp_path: Path) -> None:
    store = await Store.open(path)
    try:
        await _fill_as_an_older_version(store, tmp_path)
    finally:
        await store.close()


async def _drift_times(store_path: Path) -> list[datetime]:
    console = await open_services(
        Context.for_store(store_path, Settings(triggers=RULES)), read_only=True
    )
    try:
        alert = next(a for a in (await console.queries.alerts()).items if a.kind == "drift")
        series = await console.queries.drift_series(alert)
        assert series is not None
        return [point.at for point in series.points]
    finally:
        await console.close()


def test_rows_an_older_version_stored_are_read_by_every_command_and_the_console(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    asyncio.run(_older_store(data_dir / "thirdbook.db", tmp_path))
    (tmp_path / "thirdbook.toml").write_text(RULES_TOML)

    outputs = read_everything(data_dir)
    assert "10000-" not in outputs["events --limit 100000"]
    listed = [strict_json(x) for x in outputs["events --json --limit 100000"].splitlines()]
    assert len(listed) == len(OLD_LINES)
    # A line that is not standard JSON is given as its text, never re-emitted as NaN.
    assert isinstance(listed[len(OLD_LINES) - 6]["event"], str)
    assert "NaN" in listed[len(OLD_LINES) - 6]["event"]
    assert [
        a["first_at"][:4]
        for a in map(strict_json, outputs["alerts --json --limit 10000"].splitlines())
    ] == ["1970", "9999"]

    run_first_screen(data_dir / "thirdbook.db", RULES)
    # The chart's windows (times read from the raw lines) are as the store keeps them too.
    times = asyncio.run(_drift_times(data_dir / "thirdbook.db"))
    assert times == [TS_FIRST, TS_LAST]  # the NaN and 1e999 windows no longer validate

    # Ingest goes on over them: the engine relearns its windows from these rows first.
    log = tmp_path / "new.jsonl"
    log.write_bytes(line("feedback", target=HOSTILE) + line("metric", value=0.2))
    code, text, _ = run_command(data_dir, "ingest", "--once", str(log))
    assert code == 0 and f"{len(OLD_LINES) + 2} events, 0 rejects" in text, text
    assert "evaluating triggers failed" not in text
    outputs = read_everything(data_dir)
    drift = next(
        strict_json(x)
        for x in outputs["alerts --json --limit 10000"].splitlines()
        if '"drift"' in x
    )
    assert drift["fired"] == 2 and drift["summary"].endswith("(latest 0.2)")
    run_first_screen(data_dir / "thirdbook.db", RULES)
    _the_evidence_path_holds_over_them(data_dir, tmp_path, drift["id"])


def _the_evidence_path_holds_over_them(data_dir: Path, tmp_path: Path, alert_id: int) -> None:
    """Declare, snapshot, export, verify and verify-bundle over the hostile rows: each
    exits 0 with its own words, and the bundle verifies."""
    code, text, _ = run_command(
        data_dir,
        "declare",
        str(alert_id),
        "--title",
        "hostile rows",
        "--severity",
        "SEV3",
        "--blast-radius",
        "medium",
    )
    assert code == 0, text
    incident = strict_json(run_command(data_dir, "incidents", "--json")[1].splitlines()[0])["id"]
    code, text, _ = run_command(data_dir, "snapshot", str(incident))
    assert code == 0 and "complete" in text, text
    bundle = tmp_path / "bundle.tar.gz"
    code, text, _ = run_command(data_dir, "export", str(incident), "--out", str(bundle))
    assert code == 0 and bundle.exists(), text
    code, text, _ = run_command(data_dir, "verify")
    assert code == 0, text
    code, text, _ = run_command(data_dir, "verify-bundle", str(bundle))
    assert code == 0 and "ok" in text, text


def test_alerts_json_never_passes_controls_or_bidi_from_log_data_to_the_terminal(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    (tmp_path / "thirdbook.toml").write_text(RULES_TOML)
    log = tmp_path / "agent.jsonl"
    log.write_bytes(
        line(
            "agent_action",
            agent="agent",
            tool="wire\u009b\u202e\u001b[2J",
            target="\u2066acct\u007f",
        )
    )
    code, text, _ = run_command(data_dir, "ingest", "--once", str(log))
    assert code == 0 and "1 events" in text, text
    code, _, raw = run_command(data_dir, "alerts", "--json")
    assert code == 0
    printed = raw.decode("ascii")  # nothing outside ASCII at all
    for char in ("\x1b", "\x7f", "\u009b", "\u202e", "\u2066"):
        assert char not in printed
    [alert] = [strict_json(x) for x in printed.splitlines()]
    assert "wire\u009b\u202e\x1b[2J" in alert["summary"]  # escaped, not lost
    # Who dismissed it and why goes in the audit chain; its JSON is escaped the same way.
    code, _, _ = run_command(
        data_dir, "dismiss", str(alert["id"]), "--reason", "noise \u009b\u202e\x1b[2J\x7f"
    )
    assert code == 0
    code, _, raw = run_command(data_dir, "audit", "--json")
    assert code == 0 and raw.isascii() and b"\x1b" not in raw and b"\x7f" not in raw
    [record] = [strict_json(x) for x in raw.decode().splitlines()]
    assert record["detail"]["reason"] == "noise \u009b\u202e\x1b[2J\x7f"


def test_rejects_json_is_escaped_and_masked_as_the_table_is(tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_bytes(b'{"key": "AKIAIOSFODNN7EXAMPLE", "t": "\xc2\x9b\xe2\x80\xae\x1b[2J", NaN}\n')
    data_dir = tmp_path / "data"
    assert run_command(data_dir, "ingest", "--once", str(log))[0] == 0
    code, _, raw = run_command(data_dir, "rejects", "--json")
    assert code == 0 and raw.isascii() and b"\x1b" not in raw
    [reject] = [strict_json(x) for x in raw.decode().splitlines()]
    assert "AKIA" not in reject["raw"] and "\u009b\u202e\x1b[2J" in reject["raw"]
    assert reject["reason"].startswith("invalid JSON")


def test_json_for_the_terminal_is_standard_and_ascii() -> None:
    text = terminal_json(
        {
            "a": "\x1b\x7f\u009b\u202e\x00é",
            "n": [float("nan"), float("-inf")],
            "t": (1, float("inf")),
        }
    )
    assert text.isascii() and "\x7f" not in text
    assert strict_json(text) == {
        "a": "\x1b\x7f\u009b\u202e\x00é",
        "n": ["NaN", "-Infinity"],
        "t": [1, "Infinity"],
    }
