"""verify-bundle in bounded memory: huge and malformed members refused with a sentence naming
them, peak memory under the stated bound, and the ok line matched to the store's record."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_export import leaky_incident, members, rewrite
from thirdbook.cli import main
from thirdbook.domain.errors import BundleError
from thirdbook.evidence.bundle_check import (
    MANIFEST_LIMIT,
    MEMORY_BOUND_MIB,
    MIB,
    SNAPSHOT_LIMIT,
    verify_bundle,
)

Files = dict[str, bytes]


@pytest.fixture
async def exported(tmp_path: Path) -> tuple[Path, str]:
    """A bundle exported from a store, and the MANIFEST hash the store recorded for it."""
    console, incident_id = await leaky_incident(tmp_path)
    out = tmp_path / "bundle.tar.gz"
    sha = await console.export.export(incident_id, out)
    await console.close()
    return out, sha


def _replace(suffix: str, data: bytes) -> Callable[[Files], Files]:
    def change(files: Files) -> Files:
        return {n: data if n.endswith(suffix) else d for n, d in files.items()}

    return change


def _refusal(bundle: Path) -> str:
    """verify-bundle's output for a bundle it must refuse: exit 1, one line, no traceback."""
    result = CliRunner().invoke(main, ["verify-bundle", str(bundle)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a handled refusal, not a crash
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    return line


def _manifest_bytes(files: Files) -> bytes:
    return next(d for n, d in files.items() if n.endswith("/MANIFEST.json"))


def _manifest_of(files: Files) -> dict[str, object]:
    data: dict[str, object] = json.loads(_manifest_bytes(files))
    return data


def _with_manifest(edit: Callable[[dict[str, object]], object]) -> Callable[[Files], Files]:
    def change(files: Files) -> Files:
        data = json.dumps(edit(_manifest_of(files))).encode()
        return _replace("/MANIFEST.json", data)(files)

    return change


def _drop(key: str) -> Callable[[dict[str, object]], object]:
    return lambda m: {k: v for k, v in m.items() if k != key}


def _first_file_size(value: object) -> Callable[[dict[str, object]], object]:
    def edit(m: dict[str, object]) -> object:
        files = dict(m["files"])  # type: ignore[call-overload]
        name = next(iter(files))
        files[name] = {**files[name], "size": value}
        return {**m, "files": files}

    return edit


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_replace("/MANIFEST.json", b"{not json"), "MANIFEST.json is not valid JSON"),
        (_with_manifest(lambda m: [m]), "MANIFEST.json is malformed: a JSON object was expected"),
        (_with_manifest(_drop("files")), "MANIFEST.json is malformed at files: field required"),
        (_with_manifest(_first_file_size("12")), "MANIFEST.json is malformed at files."),
        (
            _with_manifest(lambda m: {**m, "exported_at": float("nan")}),
            "MANIFEST.json is not valid JSON (NaN is not JSON",
        ),
        (
            _with_manifest(lambda m: {**m, "format": "tarball/9"}),
            "MANIFEST.json is not a thirdbook-bundle/1 manifest",
        ),
    ],
)
def test_verify_bundle_refuses_a_malformed_manifest_naming_it(
    exported: tuple[Path, str], change: Callable[[Files], Files], said: str
) -> None:
    line = _refusal(rewrite(exported[0], change))
    assert line.startswith("Error: refused: ") and said in line, line


def _audit(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[Files], Files]:
    def change(files: Files) -> Files:
        lines = next(d for n, d in files.items() if n.endswith("/audit.jsonl")).splitlines()
        return _replace("/audit.jsonl", b"\n".join(edit(lines)) + b"\n")(files)

    return change


def _record(change: Callable[[dict[str, object]], object]) -> Callable[[list[bytes]], list[bytes]]:
    return lambda lines: [json.dumps(change(json.loads(lines[0]))).encode(), *lines[1:]]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            _audit(lambda lines: [lines[0], b"{half a record", *lines[1:]]),
            "audit.jsonl line 2 is not valid JSON",
        ),
        (_audit(_record(lambda r: [r])), "audit.jsonl line 1 is malformed: a JSON object was"),
        (_audit(_record(_drop("hash"))), "audit.jsonl line 1 is malformed at hash: field required"),
        (_audit(_record(lambda r: {**r, "seq": "1"})), "audit.jsonl line 1 is malformed at seq"),
        (
            _audit(_record(lambda r: {**r, "content": {"n": float("inf")}})),
            "audit.jsonl line 1 is not valid JSON (Infinity is not JSON",
        ),
        (
            _audit(lambda lines: [lines[0].replace(b"}", b', "big": 1e999}', 1), *lines[1:]]),
            "audit.jsonl line 1 is not valid JSON (1e999 is beyond the range of a double",
        ),
    ],
)
def test_verify_bundle_refuses_a_malformed_audit_slice_naming_the_line(
    exported: tuple[Path, str], change: Callable[[Files], Files], said: str
) -> None:
    line = _refusal(rewrite(exported[0], change))
    assert said in line, line


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\x00\xff binary", "is not valid JSON"),
        (b'{"format": "thirdbook-snapshot-v1"}', "is malformed at items: field required"),
        (b'{"items": [{"kind": "logs", "sha256": 7}]}', "is malformed at items.0.sha256"),
        (b'{"items": [{"kind": "logs", "size": NaN}]}', "is not valid JSON (NaN is not JSON"),
    ],
)
def test_verify_bundle_refuses_a_malformed_snapshot_manifest_naming_it(
    exported: tuple[Path, str], data: bytes, said: str
) -> None:
    line = _refusal(rewrite(exported[0], _replace("/manifest.json", data)))
    assert "snapshots/1/manifest.json " + said in line, line


def _member(tar: tarfile.TarFile, name: str, size: int, fill: bytes) -> None:
    """A member of `size` bytes of `fill` repeated, written without holding it in memory."""
    info = tarfile.TarInfo(name)
    info.size = size

    class Repeat(io.RawIOBase):
        left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            n, at = min(len(buffer), self.left), (size - self.left) % len(fill)
            buffer[:n] = (fill * (n // len(fill) + 2))[at : at + n]
            self.left -= n
            return n

    tar.addfile(info, io.BufferedReader(Repeat(), 1 << 20))


@pytest.mark.parametrize(
    ("name", "fill", "said"),
    [
        (
            "MANIFEST.json",
            b'{"files": {}, "pad": "' + b"x" * 1000,
            "MANIFEST.json is 67,108,864 "
            "bytes, over the 2 MiB such a document may have: refused unread",
        ),
        ("snapshots/1/manifest.json", b"[" * 1000, "snapshots/1/manifest.json is 67,108,864 bytes"),
        ("audit.jsonl", b'{"seq": 1, "pad": "' + b"y" * 1000, "audit.jsonl line 1 is over 1 MiB"),
    ],
    ids=["manifest", "snapshot-manifest", "audit-line"],
)
def test_verify_bundle_refuses_a_huge_json_member_with_a_sentence(
    tmp_path: Path, name: str, fill: bytes, said: str
) -> None:
    bundle = tmp_path / "huge.tar.gz"
    with tarfile.open(bundle, "w:gz", compresslevel=1) as tar:
        _member(tar, f"thirdbook-incident-1/{name}", 64 * MIB, fill)
    with pytest.raises(BundleError, match=said):
        verify_bundle(bundle)
    assert said in _refusal(bundle)


_PEAK = textwrap.dedent("""
    import resource, subprocess, sys
    done = subprocess.run([sys.executable, "-m", "thirdbook.cli", "verify-bundle", sys.argv[1]],
                          capture_output=True, text=True)
    print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    sys.stderr.write(done.stdout + done.stderr)
""")


def test_verify_bundle_stays_under_its_stated_memory_bound_whatever_the_bundle(
    tmp_path: Path,
) -> None:
    """The worst the caps allow, at once: a MANIFEST just under its cap listing thousands of
    files that are not there, a snapshot manifest under its cap, a 48 MiB audit slice, a
    256 MiB object. Peak RSS is measured in a fresh process (ru_maxrss of its one child)."""
    bundle = tmp_path / "big.tar.gz"
    root = "thirdbook-incident-1"
    link = {"seq": 1, "prev_hash": "0" * 64, "hash": "a" * 64, "link_only": "another" + "z" * 99}
    record = json.dumps(link).encode() + b"\n"
    entry = len(json.dumps({f"objects/{0:064x}": {"sha256": f"{0:064x}", "size": 10**7}}))
    listed = {
        f"objects/{n:064x}": {"sha256": f"{n:064x}", "size": n}
        for n in range((MANIFEST_LIMIT - 1000) // entry)
    }
    manifest = json.dumps(
        {
            "format": "thirdbook-bundle/1",
            "incident": 1,
            "exported_at": 1.0,
            "secrets": "masked",
            "chain_head": None,
            "masked": {},
            "files": listed,
        }
    ).encode()
    items = [{"kind": "logs", "sha256": f"{n:064x}", "size": n} for n in range(9_000)]
    snapshot = json.dumps({"items": items}).encode()
    assert len(snapshot) <= SNAPSHOT_LIMIT and len(manifest) <= MANIFEST_LIMIT
    with tarfile.open(bundle, "w:gz", compresslevel=1) as tar:
        _member(tar, f"{root}/audit.jsonl", len(record) * 300_000, record)
        _member(tar, f"{root}/snapshots/1/manifest.json", len(snapshot), snapshot)
        _member(tar, f"{root}/objects/{'0' * 64}", 256 * MIB, b"evidence bytes " * 99)
        _member(tar, f"{root}/MANIFEST.json", len(manifest), manifest)
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(bundle)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    code, peak_kib = (int(x) for x in done.stdout.split())
    assert code == 1 and "listed but missing" in done.stderr  # it read it all, and said so
    assert "and " in done.stderr and "more problem(s)" in done.stderr  # capped, counted
    assert peak_kib < MEMORY_BOUND_MIB * 1024, f"peak {peak_kib / 1024:.0f} MiB"
    print(f"verify-bundle peak RSS {peak_kib / 1024:.0f} MiB")


def test_verify_bundle_prints_the_manifest_hash_the_store_recorded_for_the_export(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    bundle, sha = exported
    result = CliRunner().invoke(main, ["verify-bundle", str(bundle)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"MANIFEST.json sha256 {sha}")
    assert hashlib.sha256(_manifest_bytes(members(bundle))).hexdigest() == sha
    # The store's audit chain records the same hash for the export.
    audit = CliRunner().invoke(main, ["audit", "--incident", "1", "--json"])
    assert audit.exit_code == 0, audit.output
    exports = [json.loads(line) for line in audit.output.splitlines() if '"export"' in line]
    assert any(sha in json.dumps(r["detail"]) for r in exports), exports


def _gnu_longnames(tar: tarfile.TarFile, count: int) -> None:
    """`count` GNU long-name headers in a row, then a member: tarfile reads each recursively."""
    assert tar.fileobj is not None
    long_header = tarfile.TarInfo._create_gnu_long_header  # type: ignore[attr-defined]
    for n in range(count):
        name = f"thirdbook-incident-1/{'n' * 200}{n}"
        tar.fileobj.write(long_header(name, tarfile.GNUTYPE_LONGNAME, "utf-8", "strict"))
    _member(tar, "thirdbook-incident-1/README.md", 2, b"hi")


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("global-header", "a global tar header is in the bundle: refused unread"),
        ("huge-pax-header", "a tar header extension of 200,0"),
        ("run-of-long-names", "a member has over 4 tar header extensions: refused unread"),
    ],
)
def test_verify_bundle_refuses_crafted_tar_headers_unread(
    tmp_path: Path, kind: str, said: str
) -> None:
    bundle = tmp_path / "crafted.tar.gz"
    tar_format = tarfile.GNU_FORMAT if kind == "run-of-long-names" else tarfile.PAX_FORMAT
    everyone = {"comment": "applies to all"} if kind == "global-header" else None
    with tarfile.open(bundle, "w:gz", format=tar_format, pax_headers=everyone) as tar:
        if kind == "run-of-long-names":
            _gnu_longnames(tar, 2000)
        else:
            info = tarfile.TarInfo("thirdbook-incident-1/README.md")
            info.size = 2
            if kind == "huge-pax-header":
                info.pax_headers = {"comment": "c" * 200_000}
            tar.addfile(info, io.BytesIO(b"hi"))
    assert said in _refusal(bundle)
