"""The demo serving layer: deterministic, all four trigger situations, obeys its control files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from thirdbook.demo.control_files import FLAG_FILE, REGISTRY_FILE, write_json_atomically
from thirdbook.demo.estate import DEPLOY_AT, MODEL
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.control import FlagdFile, Registry, route_for, routing_flags
from thirdbook.domain.events import EVENT_ADAPTER

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def play(tmp_path: Path, seconds: float, seed: int = 7) -> DemoServingLayer:
    layer = DemoServingLayer(tmp_path / "demo", seed=seed, start=START)
    layer.reset()
    layer.advance_to(seconds)
    layer.close()
    return layer


def records(layer: DemoServingLayer) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(layer.logs.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            EVENT_ADAPTER.validate_json(line)  # every line is valid v1
            out.append(json.loads(line))
    return out


def test_same_seed_same_logs(tmp_path: Path) -> None:
    first = play(tmp_path / "a", 200)
    second = play(tmp_path / "b", 200)
    for name in ("serving", "signals", "agent", "changes"):
        assert (first.logs / f"{name}.jsonl").read_bytes() == (
            second.logs / f"{name}.jsonl"
        ).read_bytes()


def test_all_four_trigger_situations_happen_within_three_minutes(tmp_path: Path) -> None:
    events = records(play(tmp_path, 180))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    # 1. Drift: v7's accuracy falls well below v6's.
    accuracy = {
        version: [
            e["value"]
            for e in by_kind["metric"]
            if e["metric"] == "accuracy" and e["model"]["version"] == version
        ]
        for version in ("v6", "v7")
    }
    assert min(accuracy["v6"]) > 0.85
    assert sum(v < 0.85 for v in accuracy["v7"]) >= 5
    # 2. A pattern of wrong-decline reports against the model.
    reports = [e for e in by_kind["feedback"] if e["category"] == "wrong_decline"]
    assert len(reports) >= 10 and {e["target"] for e in reports} == {MODEL}
    # 3. The regulator asks about a decision whose record is missing its prompt and hash.
    [inquiry] = by_kind["inquiry"]
    [asked] = [e for e in by_kind["inference"] if e["request_id"] == inquiry["request_id"]]
    assert "prompt" not in asked and "weights_hash" not in asked["model"]
    assert asked["response"]["decision"] == "decline"
    # 4. The support agent acts outside its lane.
    refunds = [e for e in by_kind["agent_action"] if e["tool"] == "issue_refund"]
    assert max(e["amount"] for e in refunds) == 2500.0
    assert any(e["tool"] == "close_account" for e in by_kind["agent_action"])
    # And the deploy that started it.
    [deploy] = by_kind["change"]
    assert deploy["model"]["version"] == "v7"


def test_serving_layer_obeys_kill_switch_and_registry(tmp_path: Path) -> None:
    layer = DemoServingLayer(tmp_path / "demo", seed=3, start=START)
    layer.reset()
    layer.advance_to(DEPLOY_AT + 20)
    control = layer.control_dir
    registry = json.loads((control / REGISTRY_FILE).read_text())
    assert registry["models"][MODEL]["aliases"]["serving"] == "v7"  # the deploy moved it
    write_json_atomically(
        control / FLAG_FILE, routing_flags(MODEL, "human").model_dump(by_alias=True)
    )
    layer.advance_to(DEPLOY_AT + 40)
    registry["models"][MODEL]["aliases"]["serving"] = "v6"
    write_json_atomically(control / REGISTRY_FILE, registry)
    write_json_atomically(control / FLAG_FILE, routing_flags(MODEL).model_dump(by_alias=True))
    layer.advance_to(DEPLOY_AT + 60)
    layer.close()
    served = [
        (e["ts"], e["route"], e.get("model", {}).get("version"))
        for e in records(layer)
        if e["kind"] == "inference"
    ]

    def seconds(ts: str) -> float:
        return (datetime.fromisoformat(ts) - START).total_seconds()

    window = [(r, v) for t, r, v in served if DEPLOY_AT + 21 <= seconds(t) <= DEPLOY_AT + 39]
    assert window and all(route == "human" and version is None for route, version in window)
    after = [(r, v) for t, r, v in served if seconds(t) > DEPLOY_AT + 41]
    assert after and all(route == "model" and version == "v6" for route, version in after)


def test_invalid_flag_file_keeps_the_last_good_one(tmp_path: Path) -> None:
    layer = DemoServingLayer(tmp_path / "demo", seed=3, start=START)
    layer.reset()
    write_json_atomically(
        layer.control_dir / FLAG_FILE, routing_flags(MODEL, "refused").model_dump(by_alias=True)
    )
    assert layer.control.serving().route == "refused"
    (layer.control_dir / FLAG_FILE).write_text("{ not json")
    assert layer.control.serving().route == "refused"
    assert layer.control.flags.problem is not None


def test_disabled_flag_means_absent_not_killed() -> None:
    flags = FlagdFile.model_validate(
        {
            "flags": {
                f"{MODEL}-route": {
                    "state": "DISABLED",
                    "defaultVariant": "human",
                    "variants": {"model": "model", "human": "human"},
                }
            }
        }
    )
    assert route_for(flags, MODEL) == "model"
    assert route_for(routing_flags(MODEL, "fallback"), MODEL) == "fallback"


def test_registry_rejects_an_alias_to_an_unknown_version() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown version"):
        Registry.model_validate(
            {
                "models": {
                    MODEL: {
                        "versions": {"v6": {"weights_hash": "sha256:1"}},
                        "aliases": {"serving": "v9"},
                    }
                }
            }
        )
