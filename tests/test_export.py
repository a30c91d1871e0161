"""Evidence bundles: exported with secrets masked, verified offline, tampering and path escapes
caught."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import event_line
from tests.test_evidence import _incident_with_log
from thirdbook.cli import main
from thirdbook.domain.errors import BundleError, TriageRefusedError
from thirdbook.evidence.bundle_check import verify_bundle
from thirdbook.services.factory import Services

AWS = "AKIAIOSFODNN7EXAMPLE"


async def leaky_incident(tmp_path: Path) -> tuple[Services, int]:
    """An incident whose window holds a log line with a cloud key, snapshotted."""
    console, incident_id, log = await _incident_with_log(tmp_path)
    leaky = event_line(7).replace(
        b'"decision":"decline"', f'"decision":"decline","note":"{AWS}"'.encode()
    )
    log.write_bytes(log.read_bytes().replace(event_line(7), leaky))
    from tests.helpers import ingest_once, source

    await ingest_once(console.store, source(log))  # the rewritten file is read afresh
    await console.containment.snapshot(incident_id)
    return console, incident_id


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def rewrite(bundle: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    files = change(members(bundle))
    out = bundle.with_name("tampered.tar.gz")
    with tarfile.open(out, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


async def test_an_exported_bundle_verifies_offline_with_its_secrets_masked(
    tmp_path: Path,
) -> None:
    console, incident_id = await leaky_incident(tmp_path)
    bundle = tmp_path / "out" / "bundle.tar.gz"
    sha = await console.export.export(incident_id, bundle)
    check = verify_bundle(bundle)
    manifest = check.manifest.model_dump()
    assert check.problems == [] and manifest["secrets"] == "masked"
    files = members(bundle)
    root = f"thirdbook-incident-{incident_id}"
    assert {
        f"{root}/{n}"
        for n in ("MANIFEST.json", "README.md", "incident.json", "timeline.json", "audit.jsonl")
    } <= set(files)
    assert any(n.startswith(f"{root}/snapshots/") for n in files)
    assert not any(AWS.encode() in data for data in files.values())
    assert gzip.decompress(bundle.read_bytes()).count(AWS.encode()) == 0
    # The window's events and its log segment each held the key: both are masked copies.
    assert len(manifest["masked"]) == 2
    for raw_sha, fields in manifest["masked"].items():
        assert fields["secrets"] == 1
        assert AWS.encode() in console.objects.path_of(raw_sha).read_bytes()  # the store keeps it
    # The export is on the timeline and in the chain, with the MANIFEST's hash.
    [note] = [e.detail for e in await console.triage.timeline(incident_id) if e.kind == "export"]
    assert sha in note and "secrets masked" in note
    await console.close()


async def test_revealing_secrets_in_an_export_needs_a_reason_and_is_recorded(
    tmp_path: Path,
) -> None:
    console, incident_id = await leaky_incident(tmp_path)
    with pytest.raises(TriageRefusedError, match="needs a reason"):
        await console.export.export(incident_id, tmp_path / "a.tar.gz", reveal=" ")
    bundle = tmp_path / "b.tar.gz"
    await console.export.export(incident_id, bundle, reveal="regulator asked for the raw logs")
    check = verify_bundle(bundle)
    assert check.problems == [] and check.manifest.secrets == "revealed"
    assert check.manifest.masked == {}
    assert gzip.decompress(bundle.read_bytes()).count(AWS.encode()) >= 1
    [note] = [e.detail for e in await console.triage.timeline(incident_id) if e.kind == "export"]
    assert "REVEALED (regulator asked for the raw logs)" in note
    await console.close()


async def test_export_is_refused_without_a_complete_snapshot(tmp_path: Path) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    with pytest.raises(TriageRefusedError, match="no complete snapshot"):
        await console.export.export(incident_id, tmp_path / "x.tar.gz")
    assert not (tmp_path / "x.tar.gz").exists()
    await console.close()


@pytest.fixture
async def bundle(tmp_path: Path) -> Path:
    console, incident_id = await leaky_incident(tmp_path)
    await console.triage.set_phase(incident_id, "contained")  # one more record in the slice
    out = tmp_path / "bundle.tar.gz"
    await console.export.export(incident_id, out, reveal="testing tamper checks")
    await console.close()
    return out


Files = dict[str, bytes]


def _edit(name_end: str, edit: Callable[[bytes], bytes]) -> Callable[[Files], Files]:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        return {n: edit(d) if n.endswith(name_end) else d for n, d in files.items()}

    return change


def _flip_byte(data: bytes) -> bytes:
    return data[:10] + bytes([data[10] ^ 1]) + data[11:]


def test_one_changed_byte_in_an_object_is_named(bundle: Path) -> None:
    files = members(bundle)
    obj = next(n for n in files if "/objects/" in n)
    problems = verify_bundle(rewrite(bundle, _edit(obj, _flip_byte))).problems
    wheres = {p.where for p in problems}
    assert obj.split("/", 1)[1] in wheres


def test_a_removed_or_changed_audit_record_is_named(bundle: Path) -> None:
    def drop_second(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        return b"".join(lines[:1] + lines[2:])

    def reword(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        record = json.loads(lines[0])
        record["content"]["detail"] = {"forged": True}
        return json.dumps(record).encode() + b"\n" + b"".join(lines[1:])

    for edit, said in ((drop_second, "does not link"), (reword, "does not hash")):
        tampered = rewrite(bundle, _edit("audit.jsonl", edit))
        problems = verify_bundle(tampered).problems
        assert any(
            p.where.startswith("audit.jsonl record") and said in p.problem for p in problems
        ), problems


def test_an_unlisted_file_is_named(bundle: Path) -> None:
    def add(files: dict[str, bytes]) -> dict[str, bytes]:
        root = next(iter(files)).split("/")[0]
        return {**files, f"{root}/objects/extra": b"smuggled"}

    problems = verify_bundle(rewrite(bundle, add)).problems
    assert any(p.where == "objects/extra" and "not listed" in p.problem for p in problems)


@pytest.mark.parametrize(
    ("name", "kind", "said"),
    [
        ("../escape.txt", tarfile.REGTYPE, "escapes"),
        ("/etc/evil", tarfile.REGTYPE, "escapes"),
        ("thirdbook-incident-1/../../x", tarfile.REGTYPE, "escapes"),
        ("thirdbook-incident-1/link", tarfile.SYMTYPE, "not a plain file"),
        ("thirdbook-incident-1/hard", tarfile.LNKTYPE, "not a plain file"),
        ("other-folder/file", tarfile.REGTYPE, "outside the bundle's folder"),
    ],
)
def test_paths_that_escape_the_bundle_and_links_are_refused_unread(
    tmp_path: Path, name: str, kind: bytes, said: str
) -> None:
    out = tmp_path / "evil.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        first = tarfile.TarInfo("thirdbook-incident-1/README.md")
        first.size = 2
        tar.addfile(first, io.BytesIO(b"hi"))
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = "/etc/passwd" if kind != tarfile.REGTYPE else ""
        info.size = 4 if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(b"evil") if kind == tarfile.REGTYPE else None)
    with pytest.raises(BundleError, match=said):
        verify_bundle(out)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_export_and_verify_bundle_commands(tmp_path: Path, bundle: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["verify-bundle", str(bundle)])
    assert ok.exit_code == 0 and ok.output.startswith("ok: incident #1")
    bad = rewrite(bundle, _edit("incident.json", lambda d: d.replace(b"drift", b"DRIFT")))
    failed = runner.invoke(main, ["verify-bundle", str(bad)])
    assert failed.exit_code == 1 and "FAIL incident.json" in failed.output
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tar")
    refused = runner.invoke(main, ["verify-bundle", str(garbage)])
    assert refused.exit_code == 1 and "refused" in refused.output


async def test_an_export_with_a_missing_object_fails_clearly_and_writes_nothing(
    tmp_path: Path,
) -> None:
    import os

    from thirdbook.domain.errors import ActionFailedError

    console, incident_id = await leaky_incident(tmp_path)
    [snapshot] = await console.containment.snapshots(incident_id)
    lost = next(i["sha256"] for i in (snapshot.manifest or {})["items"] if i["kind"] == "logs")
    path = console.objects.path_of(lost)
    os.chmod(path.parent, 0o755)
    path.unlink()
    out = tmp_path / "x.tar.gz"
    with pytest.raises(ActionFailedError, match=f"object {lost} is missing"):
        await console.export.export(incident_id, out)
    assert not out.exists() and not list(tmp_path.glob(".x.tar.gz.*"))
    outcomes = [r.content["outcome"] for r in await console.store.audit.records()]
    assert outcomes[-1] == "failed"
    await console.close()


def test_masking_reads_lines_in_bounded_pieces_and_loses_no_byte(tmp_path: Path) -> None:
    from thirdbook.evidence.bundle import _lines

    path = tmp_path / "segment.log"
    data = b"abc\n" + b"x" * 25 + b"\n" + b"y" * (3 << 20) + b"\nend"
    path.write_bytes(data)
    pieces = list(_lines(path, piece=1 << 20))
    assert b"".join(pieces) == data
    assert pieces[:2] == [b"abc\n", b"x" * 25 + b"\n"] and pieces[-1] == b"end"
    assert max(len(p) for p in pieces) <= (1 << 20) + 1


def test_a_big_object_is_masked_by_worker_processes_exactly_as_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thirdbook.evidence import bundle

    monkeypatch.setattr(bundle, "_BLOCK", 1 << 14)  # small blocks: the pool path, quickly
    lines = [event_line(n) if n % 97 else f'{{"note": "{AWS}"}}\n'.encode() for n in range(3000)]
    path = tmp_path / "segment.log"
    path.write_bytes(b"".join(lines))
    pooled = list(bundle._masked_blocks(path))
    assert len(pooled) > 8  # several blocks, in flight at once
    one = bundle.mask_block(path.read_bytes())
    assert b"".join(b for b, _ in pooled) == one[0]
    assert sum(n for _, n in pooled) == one[1] == 31
    assert AWS.encode() not in one[0]
