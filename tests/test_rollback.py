"""Rollback: the serving alias moves to a known-good version; the failing one is untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.helpers import with_containment
from tests.test_evidence import _incident_with_log
from thirdbook.actuators.rollback import plan_rollback, roll_back
from thirdbook.domain.control import Registry
from thirdbook.domain.errors import RollbackRefusedError, TriageRefusedError


def registry_file(tmp_path: Path, weights: bytes | None = None) -> Path:
    path = tmp_path / "registry.json"
    v6: dict[str, object] = {"weights_hash": "sha256:66", "known_good": True}
    if weights is not None:
        blob = tmp_path / "v6.bin"
        blob.write_bytes(weights)
        v6 = {
            "weights_hash": "sha256:" + hashlib.sha256(weights).hexdigest(),
            "known_good": True,
            "weights_path": str(blob),
        }
    path.write_text(
        json.dumps(
            {
                "models": {
                    "credit-scorer": {
                        "versions": {
                            "v5": {"weights_hash": "sha256:55", "known_good": True},
                            "v6": v6,
                            "v7": {"weights_hash": "sha256:77"},
                        },
                        "aliases": {"serving": "v7"},
                    }
                }
            }
        )
    )
    return path


def serving(path: Path) -> str:
    return json.loads(path.read_text())["models"]["credit-scorer"]["aliases"]["serving"]


def test_rollback_moves_the_alias_to_the_newest_known_good_version(tmp_path: Path) -> None:
    path = registry_file(tmp_path)
    v7_before = json.loads(path.read_text())["models"]["credit-scorer"]["versions"]["v7"]
    plan, before, after = roll_back(path, "credit-scorer")
    assert (plan.from_version, plan.to_version) == ("v7", "v6")
    assert serving(path) == "v6" and before != after
    # The failing version is never touched.
    assert json.loads(path.read_text())["models"]["credit-scorer"]["versions"]["v7"] == v7_before


def test_rollback_refuses_what_it_cannot_do_safely(tmp_path: Path) -> None:
    registry = Registry.model_validate_json(registry_file(tmp_path).read_bytes())
    with pytest.raises(RollbackRefusedError, match="already serving"):
        plan_rollback(registry, "credit-scorer", "v7")
    with pytest.raises(RollbackRefusedError, match="no version 'v9'"):
        plan_rollback(registry, "credit-scorer", "v9")
    with pytest.raises(RollbackRefusedError, match="no model"):
        plan_rollback(registry, "fraud-scorer")


def test_the_target_weights_are_re_hashed_before_the_alias_moves(tmp_path: Path) -> None:
    path = registry_file(tmp_path, weights=b"good weights")
    plan, _, _ = roll_back(path, "credit-scorer", "v6")
    assert plan.weights_checked
    path = registry_file(tmp_path, weights=b"good weights")
    (tmp_path / "v6.bin").write_bytes(b"tampered weights")
    with pytest.raises(RollbackRefusedError, match="refusing to serve them"):
        roll_back(path, "credit-scorer", "v6")
    assert serving(path) == "v7"


async def test_rollback_from_the_console_is_snapshot_first_and_on_the_timeline(
    tmp_path: Path,
) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    (tmp_path / "reg").mkdir()
    path = registry_file(tmp_path / "reg")
    console = with_containment(console, registry=path)
    with pytest.raises(TriageRefusedError, match="snapshot first"):
        await console.containment.rollback(incident_id)
    assert serving(path) == "v7"
    await console.containment.snapshot(incident_id)
    plan = await console.containment.rollback(incident_id)
    assert plan.to_version == "v6" and serving(path) == "v6"
    [note] = [
        e.detail for e in await console.triage.timeline(incident_id) if e.kind == "containment"
    ]
    assert note.startswith("rollback: credit-scorer serving v7 → v6")
    await console.store.close()
