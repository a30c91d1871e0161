"""RELIABILITY C7-C8: evidence objects are written once, read-only, and verified byte for byte."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import event_line, ingest_once, source
from thirdbook.config import ContainmentConfig
from thirdbook.domain.alerts import Firing
from thirdbook.evidence.objects import ObjectStore, hash_file
from thirdbook.evidence.snapshot import verify_snapshots
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store


def test_objects_are_content_addressed_read_only_and_never_replaced(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "evidence")
    ref = objects.put_bytes(b"the weights were sha256:ab")
    again = objects.put_bytes(b"the weights were sha256:ab")
    assert ref == again
    path = objects.path_of(ref.sha256)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert not stat.S_IMODE(path.parent.stat().st_mode) & 0o022  # no one else may write
    assert objects.verify(ref) is None
    assert list((tmp_path / "evidence" / "tmp").iterdir()) == []  # nothing left half-written


def test_c8_large_files_are_hashed_with_bounded_memory(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    with weights.open("wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))  # 64 MiB
    tracemalloc.start()
    ref = hash_file(weights)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ref.size == 64 << 20
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB while hashing 64 MiB"


def weights_file(tmp_path: Path) -> Path:
    return tmp_path / "models" / "credit-scorer" / "v7" / "model.bin"


async def _incident_with_log(tmp_path: Path) -> tuple[Services, int, Path]:
    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir()
    log.write_bytes(b"".join(event_line(i) for i in range(200)))
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(log))
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(1,),
            at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            summary="drift",
        )
    )
    registry = tmp_path / "registry.json"
    registry.write_text(
        '{"models": {"credit-scorer": {"versions": {"v7": '
        '{"weights_hash": "sha256:ab"}}, "aliases": {"serving": "v7"}}}}'
    )
    weights = tmp_path / "models" / "credit-scorer" / "v7"
    weights.mkdir(parents=True)
    (weights / "model.bin").write_bytes(b"\x00" * 4096)
    paths = ContainmentConfig(
        registry=registry,
        flag_file=tmp_path / "absent.json",
        weights_dir=tmp_path / "models",
        window_before_s=10**9,
    )
    console = build_services(store, containment=paths)
    incident = await console.triage.declare(
        [alert.id], title="drift", severity="SEV2", blast_radius="medium"
    )
    return console, incident.id, log


async def test_c7_a_growing_log_is_kept_as_the_bytes_stored_with_their_range(
    tmp_path: Path,
) -> None:
    console, incident_id, log = await _incident_with_log(tmp_path)
    size_then = log.stat().st_size
    record = await console.containment.snapshot(incident_id)
    with log.open("ab") as f:  # the log keeps growing after the snapshot
        f.write(event_line(999))
    assert record.status == "complete"
    manifest = record.manifest or {}
    [segment] = [i for i in manifest["items"] if i["kind"] == "logs"]
    assert segment["range"] == [0, size_then]
    assert segment["sha256"] == hash_file(log, 0, size_then).sha256
    routing = next(i for i in manifest["items"] if i["kind"] == "routing")
    assert "missing" in routing  # said, not silently skipped
    model = next(i for i in manifest["items"] if i["kind"] == "model")
    # The model versions the window's events name, with the hash they logged and the
    # registry's, and the weights on disk.
    [version] = json.loads(console.objects.path_of(model["sha256"]).read_bytes())["models"]
    assert version["name"] == "credit-scorer" and version["version"] == "v7"
    assert version["logged_weights_hash"] == version["registry_weights_hash"] == "sha256:ab"
    assert version["weights_files"] == {"model.bin": hash_file(weights_file(tmp_path)).sha256}
    assert set(record.captured()) >= {"events", "logs", "registry", "model", "prompts"}
    assert await verify_snapshots(console.store, console.objects) == []
    # One changed byte in the stored copy fails verify, naming the object.
    stored = console.objects.path_of(segment["sha256"])
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[10] ^= 1
    stored.write_bytes(bytes(data))
    [problem] = await verify_snapshots(console.store, console.objects)
    assert segment["sha256"] in problem and "has changed" in problem
    await console.store.close()


async def test_c8_an_interrupted_snapshot_stays_incomplete(tmp_path: Path) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)

    def stop_midway(step: str) -> None:
        if step == "registry":
            raise KeyboardInterrupt  # the session drops in the middle

    with pytest.raises(KeyboardInterrupt):
        await console.containment.snapshot(incident_id, stop_midway)
    [snapshot] = await console.containment.snapshots(incident_id)
    assert snapshot.status == "incomplete" and snapshot.captured() == {}
    outcomes = [
        r.content["outcome"]
        for r in await console.store.audit.records()
        if r.content["action"] == "snapshot"
    ]
    assert outcomes == ["started", "interrupted"]
    await console.store.close()


def test_snapshot_and_verify_from_the_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from thirdbook.cli import main

    asyncio.run(_incident_with_log(tmp_path))
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data"), "--config", str(tmp_path / "none.toml")]
    taken = runner.invoke(main, [*args, "snapshot", "1"])
    assert taken.exit_code == 0, taken.output
    assert "snapshot #1 complete" in taken.output and "inputs/outputs" in taken.output
    checked = runner.invoke(main, [*args, "verify"])
    assert checked.exit_code == 0 and "1 complete snapshot(s)" in checked.output


def test_prompt_templates_are_found_whether_a_page_holds_one_template_or_several() -> None:
    from thirdbook.evidence.snapshot import _Seen

    def line(template: str, version: str, system: str) -> bytes:
        return (
            b'{"kind":"inference","prompt":{"template_version":"'
            + version.encode()
            + b'","template_id":"'
            + template.encode()
            + b'","system":"'
            + system.encode()
            + b'"}}\n'
        )

    seen = _Seen()
    page = [line("credit", "12", "Decide.")] * 3
    seen.note_page(list(enumerate(page)), b"".join(page), [])
    mixed = [
        line("credit", "14", "Decide at once."),
        line("credit", "13", "Decide carefully."),
        line("support", "2", "Help."),
        line("credit", "12", "Decide."),
    ]
    seen.note_page(list(enumerate(mixed)), b"".join(mixed), [])
    # One version a prefix of the other, one id a prefix of the other, a key spelled apart.
    for close in (
        [line("credit", "7", "Seven."), line("credit", "71", "Seventy-one.")],
        [line("credit", "7", "Seven."), line("credit-v2", "7", "Two.")],
        [line("credit", "8", "Eight."), line("credit", "9", "Nine.").replace(b'":"', b'" : "')],
    ):
        seen.note_page(list(enumerate(close)), b"".join(close), [])
    assert seen.templates == {
        "credit@12": {"system": "Decide."},
        "credit@13": {"system": "Decide carefully."},
        "credit@14": {"system": "Decide at once."},
        "support@2": {"system": "Help."},
        "credit@7": {"system": "Seven."},
        "credit@71": {"system": "Seventy-one."},
        "credit-v2@7": {"system": "Two."},
        "credit@8": {"system": "Eight."},
        "credit@9": {"system": "Nine."},
    }
    assert seen.count == 13


def test_a_model_named_without_a_version_is_kept_with_a_null_version(tmp_path: Path) -> None:
    from thirdbook.evidence.snapshot import _models, _Seen

    seen = _Seen()
    page = [event_line(1)]
    named = [("credit-scorer", None, None), ("credit-scorer", "v7", "sha256:ab")]
    seen.note_page(list(enumerate(page)), b"".join(page), named)
    (tmp_path / "credit-scorer" / "v7").mkdir(parents=True)
    found = _models(seen.models, ContainmentConfig(weights_dir=tmp_path))["models"]
    assert found == [
        {"name": "credit-scorer", "version": None, "logged_weights_hash": None},
        {
            "name": "credit-scorer",
            "version": "v7",
            "logged_weights_hash": "sha256:ab",
            "weights_files": {},
        },
    ]
