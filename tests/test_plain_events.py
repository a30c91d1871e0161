"""Reading without pydantic (`domain.plain_events`, `plain_registry`, `plain_explanation`)
gives what the models give, or says it is unsure: never a different event, a registry the
models refuse, or a field the models do not have. Checked field by field against the models,
and line by line over the demo's logs and thousands of lines changed one value at a time."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from dataclasses import MISSING, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from tests.helpers import event_line
from tests.test_explain import decision, inquiry
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain import events, explanation, plain_events, plain_explanation
from thirdbook.domain.control import Registry
from thirdbook.domain.plain_json import MAX_NESTING, Unsure
from thirdbook.domain.plain_registry import registered_hash

PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (plain_events.ModelRef, events.ModelRef),
    (plain_events.RetrievedDocument, events.RetrievedDocument),
    (plain_events.ToolOutput, events.ToolOutput),
    (plain_events.Prompt, events.Prompt),
    (plain_events.ToolCall, events.ToolCall),
    (plain_events.Response, events.Response),
    (plain_events.DownstreamAction, events.DownstreamAction),
    (plain_events.InferenceEvent, events.InferenceEvent),
    (plain_events.FeedbackEvent, events.FeedbackEvent),
    (plain_events.AgentActionEvent, events.AgentActionEvent),
    (plain_events.InquiryEvent, events.InquiryEvent),
    (plain_explanation.ModelPart, explanation.ModelPart),
    (plain_explanation.RouteWhy, explanation.RouteWhy),
    (plain_explanation.Related, explanation.Related),
    (plain_explanation.Citation, explanation.Citation),
    (plain_explanation.SnapshotHold, explanation.SnapshotHold),
    (plain_explanation.Explanation, explanation.Explanation),
]


def _default(info: Any) -> Any:
    if info.is_required():
        return MISSING
    if info.default_factory is list:
        return ()
    return info.default


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=lambda c: c.__name__)
def test_each_plain_class_has_its_models_fields_in_order_with_its_defaults(
    plain: type[Any], model: type[BaseModel]
) -> None:
    mine = [(f.name, MISSING if f.default is MISSING else f.default) for f in fields(plain)]
    theirs = [(name, _default(info)) for name, info in model.model_fields.items()]
    assert mine == theirs


def _optional(annotation: Any) -> bool:
    union = get_origin(annotation) in (typing.Union, types.UnionType)
    return union and type(None) in get_args(annotation)


@pytest.mark.parametrize(("plain", "model"), PAIRS[:11], ids=lambda c: c.__name__)
def test_each_plain_field_takes_null_exactly_where_its_model_does(
    plain: type[Any], model: type[BaseModel]
) -> None:
    for f in fields(plain):
        takes_null = True
        try:
            f.metadata["check"](None)
        except Unsure:
            takes_null = False
        assert takes_null == _optional(model.model_fields[f.name].annotation), f.name


def _json_dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_dump(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_json_dump(v) for v in value]
    return value


def _demo_lines(base: Path) -> list[bytes]:
    layer = DemoServingLayer(base / "demo", start=datetime(2026, 11, 27, 14, 0, tzinfo=UTC))
    layer.reset()
    layer.advance_to(400)
    layer.close()
    found: list[bytes] = []
    for log in sorted((base / "demo" / "logs").glob("*.jsonl")):
        found += log.read_bytes().splitlines()
    return found


REPLACEMENTS: list[Any] = [
    None,
    0,
    1,
    1.5,
    -2.5,
    10**400,
    True,
    "x",
    "1.5",
    "",
    [],
    {},
    [{}],
    {"name": "n", "version": "v"},
    "2026-11-27T10:00:00Z",
    "2026-11-27T10:00:00",
    "2026-11-27 10:00:00Z",
    "2026-11-27T10:00:00.1234567Z",
    "2026-11-27T10:00:00.5+02:00",
    "2026-11-27T10:00:00+24:00",
    "2026-02-30T10:00:00Z",
    "2026-11-27T10:00:60Z",
    "9999-12-31T23:59:59.999999Z",
    "2026-11-27t10:00:00z",
    1_700_000_000,
    "model",
    "human",
    "feedback",
    "__1e400__",  # written as the number 1e400, which `json` reads as an infinity
]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*at, index))


def _replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    head, rest = at[0], at[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if rest or new is not _DELETE:
        copy[head] = _replaced(value[head], rest, new)
    else:
        del copy[head]
    return copy


_DELETE = object()


def _variants(line: bytes) -> Iterator[bytes]:
    yield line
    record = json.loads(line)
    for at in _paths(record):
        if not at:
            continue
        for new in [*REPLACEMENTS, _DELETE]:
            changed = json.dumps(_replaced(record, at, new))
            yield changed.replace('"__1e400__"', "1e400").encode()
    text = line.decode()
    yield b"\xef\xbb\xbf" + line
    yield text.replace("{", '{"kind": "metric", ', 1).encode()  # a key given twice
    yield text.replace("{", '{"nested": {"kind": "feedback"}, ', 1).encode()
    yield text.replace("{", '{"n": NaN, ', 1).encode()
    yield text.replace("{", '{"n": "\\ud800", ', 1).encode()
    yield text.replace("{", '{"n": "\xff", ', 1).encode("latin-1")
    for depth in (MAX_NESTING - 2, 300):  # the models refuse nesting deeper than about 128
        yield text.replace("{", '{"n": ' + "[" * depth + "]" * depth + ", ", 1).encode()
    yield text.encode("utf-16")
    yield line + b" x"


def _good_lines(tmp_path: Path) -> list[bytes]:
    made = [json.dumps(r).encode() for r in (decision(), inquiry())]
    made += [event_line(n).strip() for n in range(3)]
    feedback = {
        "v": 1,
        "kind": "feedback",
        "ts": "2026-11-27T14:03:00Z",
        "target": "credit-scorer",
        "category": "wrong decline",
        "request_id": "req-1",
        "reporter": "ana",
        "text": "declined wrongly",
    }
    agent = {
        "v": 1,
        "kind": "agent_action",
        "ts": "2026-11-27T14:04:00+01:00",
        "agent": "refunds",
        "tool": "issue_refund",
        "amount": 12,
        "currency": "EUR",
        "subject": "applicant-7",
        "outcome": "done",
    }
    made += [json.dumps(feedback).encode(), json.dumps(agent).encode()]
    demo = _demo_lines(tmp_path)
    kinds: dict[str, list[bytes]] = {}
    for line in demo:
        kinds.setdefault(json.loads(line)["kind"], []).append(line)
    for kind, lines in kinds.items():  # a few of each kind, the first and the oddest
        made += (
            lines[:2] + sorted(lines, key=len)[-1:] + ([] if kind != "inference" else lines[::97])
        )
    return made


def test_a_line_read_plainly_is_the_line_the_models_read(tmp_path: Path) -> None:
    good = _good_lines(tmp_path)
    answered = unsure = 0
    for base in good:
        for line in _variants(base):
            try:
                plain = plain_events.read_stored_line(line)
            except Unsure:
                unsure += 1
                continue
            answered += 1
            read = events.event_adapter().validate_json(line.removeprefix(events.BOM))
            assert type(read).__name__ == type(plain).__name__, line
            assert _json_dump(plain) == read.model_dump(mode="json"), line
    # The plain reading answers the lines as they are written, and leaves many to the models.
    for line in good:
        kind = json.loads(line)["kind"]
        if kind in plain_events.KINDS:
            plain_events.read_stored_line(line)  # never unsure of a line as it was logged
    assert answered > 1000 and unsure > 1000, (answered, unsure)


def test_a_line_the_models_refuse_is_never_read_plainly() -> None:
    refused = [
        json.dumps({**decision(), "latency_ms": -1}).encode(),
        json.dumps({**decision(), "route": "elsewhere"}).encode(),
        json.dumps({**decision(), "v": 2}).encode(),
        json.dumps({**decision(), "ts": "2026-11-27T14:02:00"}).encode(),
        json.dumps({**decision(), "model": {"name": "m"}}).encode(),
        json.dumps({**decision(), "prompt": {"retrieved": [{"text": "no id"}]}}).encode(),
        b'{"v": 1, "kind": "inference", "ts": "2026-11-27T14:02:00Z", "request_id": "r", '
        b'"latency_ms": NaN}',
    ]
    for line in refused:
        with pytest.raises(ValidationError):
            events.event_adapter().validate_json(line)
        with pytest.raises(Unsure):
            plain_events.read_stored_line(line)
    assert events.parse_stored_line(refused[0]) is None


def _registries() -> list[bytes]:
    plain: dict[str, Any] = {
        "models": {
            "credit-scorer": {
                "versions": {
                    "v5": {"weights_hash": "sha256:55", "known_good": True},
                    "v6": {"weights_hash": "sha256:66", "weights_path": "/w/v6", "extra": [1]},
                    "v7": {"weights_hash": "sha256:77", "note": None},
                },
                "aliases": {"serving": "v7", "canary": "v6"},
                "owner": "risk",
            },
            "fraud-scorer": {"versions": {"v1": {"weights_hash": "sha256:11"}}},
        },
        "generated": "by hand",
    }
    found = [json.dumps(plain).encode()]
    for at in _paths(plain):
        if not at:
            continue
        for new in [*REPLACEMENTS, _DELETE, "v6", {"weights_hash": "sha256:99"}]:
            found.append(json.dumps(_replaced(plain, at, new)).encode())
    found += [b"[]", b"", b'{"models": {}}', b'{"models": {}, "models": {}}', b"{,}"]
    return found


def test_a_registry_read_plainly_is_the_registry_the_models_read() -> None:
    answered = unsure = 0
    for data in _registries():
        for model, version in [("credit-scorer", "v7"), ("credit-scorer", "v9"), ("x", "v1")]:
            try:
                found = registered_hash(data, model, version)
            except Unsure:
                unsure += 1
                continue
            answered += 1
            registry = Registry.model_validate_json(data)  # it validates: no ValidationError
            entry = registry.models.get(model)
            known = None if entry is None else entry.versions.get(version)
            assert found == (None if known is None else known.weights_hash), data
    assert answered > 100 and unsure > 100, (answered, unsure)
