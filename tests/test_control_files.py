"""Issue 9: control files are what they say they are (links, FIFOs, devices, huge files, the
lock beside the flag file), snapshots copy only what containment would write, and a kill keeps
the flag's other fields and is undone exactly."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from tests.helpers import with_containment
from tests.test_evidence import _incident_with_log
from tests.test_kill_switch import flags_file
from thirdbook.actuators.kill_switch import flip
from thirdbook.control_file import ControlFileRefusedError, read_control
from thirdbook.demo.control_files import FLAG_FILE, ControlFiles
from thirdbook.domain.control import FlagdFile, route_for
from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.services.factory import Services

PASSWD = b"root:x:0:0:root:/root:/bin/bash\nsvc:x:1000:1000::/home/svc:/bin/sh\n"
"""Stands for /etc/passwd: a file a flag-file link must never expose or overwrite."""


async def _console_with(
    tmp_path: Path, flag: Path, *, follow: bool = False
) -> tuple[Services, int]:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    console = with_containment(console, flag_file=flag, follow_control_symlinks=follow)
    return console, incident_id


def _route(path: Path) -> str:
    return route_for(FlagdFile.model_validate_json(path.read_bytes()), "credit-scorer")


async def _outcomes(console: Services) -> list[tuple[str, str]]:
    records = await console.store.audit.records()
    return [(r.content["action"], r.content["outcome"]) for r in records]


async def test_a_flag_file_symlink_is_refused_unread_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "etc-passwd"
    secret.write_bytes(PASSWD)
    flag = tmp_path / "killswitch.flagd.json"
    flag.symlink_to(secret)
    console, incident_id = await _console_with(tmp_path, flag)
    with pytest.raises(TriageRefusedError, match=r"symbolic link \(to .*etc-passwd\): refused"):
        await console.containment.kill_switch(incident_id, "human", override="now")
    with pytest.raises(TriageRefusedError, match="follow_control_symlinks"):
        await console.containment.preview(incident_id, "kill-switch", override="now")
    assert flag.is_symlink() and secret.read_bytes() == PASSWD
    assert not console.objects.has(hashlib.sha256(PASSWD).hexdigest())  # not kept as evidence
    assert ("kill-switch", "refused") in await _outcomes(console)
    await console.close()


async def test_a_followed_flag_file_link_writes_its_target_and_the_serving_layer_sees_the_kill(
    tmp_path: Path,
) -> None:
    (tmp_path / "etc").mkdir()
    real = flags_file(tmp_path / "etc")
    control = tmp_path / "control"
    control.mkdir()
    (control / FLAG_FILE).symlink_to(real)
    serving = ControlFiles(control)  # the demo's serving layer, reading through the link
    assert serving.serving().route == "model"
    console, incident_id = await _console_with(tmp_path, control / FLAG_FILE, follow=True)
    written = await console.containment.kill_switch(incident_id, "human", override="now")
    assert written.path == real and (control / FLAG_FILE).is_symlink()
    assert _route(real) == "human" and serving.serving().route == "human"
    assert oct(real.stat().st_mode & 0o777) == oct(0o640)  # the target's mode, kept
    [note] = [
        e.detail for e in await console.triage.timeline(incident_id) if e.kind == "containment"
    ]
    assert f"in {real} (the link {control / FLAG_FILE} points at it)" in note
    assert written.after in note
    assert [p.name for p in control.iterdir()] == [FLAG_FILE]  # temp and lock beside the target
    await console.close()


async def test_a_2_gib_flag_file_is_refused_at_once_without_reading_it(tmp_path: Path) -> None:
    flag = tmp_path / "killswitch.flagd.json"
    with flag.open("wb") as f:
        os.truncate(f.fileno(), 2 << 30)  # sparse: 2 GiB that take no disk
    console, incident_id = await _console_with(tmp_path, flag)
    tracemalloc.start()
    try:
        with pytest.raises(TriageRefusedError, match=r"2,147,483,648 bytes, over the 1,048,576"):
            await console.containment.kill_switch(incident_id, "human", override="now")
        record = await console.containment.snapshot(incident_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20  # never read whole (it would be 2 GiB)
    [routing] = [i for i in (record.manifest or {})["items"] if i["kind"] == "routing"]
    assert "over the 1,048,576-byte cap" in routing["missing"] and routing["size"] == 0
    assert flag.stat().st_size == 2 << 30
    await console.close()


@pytest.mark.parametrize("kind", ["directory", "device"])
async def test_a_directory_or_device_at_the_flag_path_is_refused_unread(
    tmp_path: Path, kind: str
) -> None:
    flag = tmp_path / "killswitch.flagd.json"
    if kind == "directory":
        flag.mkdir()
    else:
        flag.symlink_to("/dev/zero")  # followed, as configured: /dev/zero is what is checked
    console, incident_id = await _console_with(tmp_path, flag, follow=True)
    said = "a directory" if kind == "directory" else "a character device"
    with pytest.raises(TriageRefusedError, match=f"is {said}, not a regular file: refused"):
        await console.containment.kill_switch(incident_id, "human", override="now")
    record = await console.containment.snapshot(incident_id)
    [routing] = [i for i in (record.manifest or {})["items"] if i["kind"] == "routing"]
    assert f"is {said}, not a regular file" in routing["missing"]
    await console.close()


def test_a_fifo_at_the_flag_path_is_refused_without_hanging(tmp_path: Path) -> None:
    flag = tmp_path / "killswitch.flagd.json"
    os.mkfifo(flag)  # nobody ever writes to it: opening it for reading would block forever
    (tmp_path / "thirdbook.toml").write_text(f'[containment]\nflag_file = "{flag}"\n')
    _declare_in_a_store(tmp_path)
    for args in (["snapshot", "1"], ["kill-switch", "1", "--mode", "human", "--override", "now"]):
        # A hang fails the test here by timeout (the child is killed), never forever.
        done = subprocess.run(
            [sys.executable, "-m", "thirdbook.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in done.stderr
        if args[0] == "snapshot":
            assert done.returncode == 0, done.stderr
            [line] = [ln for ln in done.stdout.splitlines() if "routing config" in ln]
            assert "MISSING (not copied: " in line and "is a FIFO" in line
        else:
            assert done.returncode == 1
            assert f"refused: {flag} is a FIFO, not a regular file: refused, unread" in done.stderr


def _declare_in_a_store(tmp_path: Path) -> None:
    """An incident #1 in the store the CLI opens (THIRDBOOK_DATA_DIR is tmp_path/data)."""
    import asyncio

    async def go() -> None:
        console, _, _ = await _incident_with_log(tmp_path)
        await console.close()

    asyncio.run(go())


async def test_a_symlinked_lock_creates_nothing_where_it_points(tmp_path: Path) -> None:
    flag = flags_file(tmp_path)
    before = flag.read_bytes()
    planted = tmp_path / "elsewhere" / "planted"
    planted.parent.mkdir()
    lock = tmp_path / f".{flag.name}.lock"
    lock.symlink_to(planted)
    console, incident_id = await _console_with(tmp_path, flag)
    with pytest.raises(TriageRefusedError, match=r"the lock .* is a symbolic link"):
        await console.containment.kill_switch(incident_id, "human", override="now")
    assert not planted.exists() and not os.path.lexists(planted)
    assert flag.read_bytes() == before
    planted.write_bytes(PASSWD)  # a lock link to an existing file: not opened for writing
    with pytest.raises(ControlFileRefusedError, match="never created through a link"):
        flip(flag, "credit-scorer", "human")
    assert planted.read_bytes() == PASSWD and flag.read_bytes() == before
    await console.close()


async def test_a_snapshot_does_not_copy_a_flag_file_link_it_would_refuse_to_write(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "etc-passwd"
    secret.write_bytes(PASSWD)
    flag = tmp_path / "killswitch.flagd.json"
    flag.symlink_to(secret)
    console, incident_id = await _console_with(tmp_path, flag)
    record = await console.containment.snapshot(incident_id)
    assert record.status == "complete"  # as with a missing file: said, and shown MISSING
    [routing] = [i for i in (record.manifest or {})["items"] if i["kind"] == "routing"]
    assert routing["origin"] == str(flag) and "sha256" not in routing
    assert "not copied" in routing["missing"] and "symbolic link" in routing["missing"]
    assert "routing" not in record.captured()
    assert not console.objects.has(hashlib.sha256(PASSWD).hexdigest())
    # Followed (as configured), the snapshot copies the flag file the link points at.
    (tmp_path / "real").mkdir()
    real = flags_file(tmp_path / "real")
    flag.unlink()
    flag.symlink_to(real)
    console = with_containment(console, follow_control_symlinks=True)
    record = await console.containment.snapshot(incident_id)
    [routing] = [i for i in (record.manifest or {})["items"] if i["kind"] == "routing"]
    assert (routing["origin"], routing["link"]) == (str(real), str(flag))
    assert console.objects.path_of(routing["sha256"]).read_bytes() == real.read_bytes()
    await console.close()


async def test_a_registry_or_quarantine_list_link_is_not_written_through(tmp_path: Path) -> None:
    console, incident_id = await _console_with(tmp_path, flags_file(tmp_path))
    assert console.containment_config.registry is not None
    registry = console.containment_config.registry
    real = tmp_path / "real-registry.json"
    registry.rename(real)
    registry.symlink_to(real)
    await console.containment.snapshot(incident_id)
    with pytest.raises(TriageRefusedError, match="symbolic link"):
        await console.containment.rollback(incident_id, to="v7")
    secret = tmp_path / "etc-passwd"
    secret.write_bytes(PASSWD)
    (console.store.path.parent / "quarantine.json").symlink_to(secret)
    with pytest.raises(ActionFailedError, match="recorded, but its list file was not written"):
        await console.quarantine.add(incident_id, ["ft-run-4411"])
    assert secret.read_bytes() == PASSWD
    assert ("quarantine", "failed") in await _outcomes(console)
    await console.close()


FLAG_WITH_RULES = b"""{
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "metadata": {"flagSetId": "serving", "version": "3"},
    "flags": {
        "credit-scorer-route": {
            "state": "ENABLED",
            "defaultVariant": "model",
            "variants": {"model": "model", "human": "human", "fallback": "fallback",
                         "refused": "refused", "canary": "model"},
            "targeting": {"if": [{"ends_with": [{"var": "email"}, "@beta.example"]},
                                 "canary", null]},
            "metadata": {"owner": "ml-platform", "ticket": "OPS-1192"}
        },
        "dark-mode": {"state": "DISABLED", "variants": {"on": true, "off": false},
                      "defaultVariant": "off"}
    }
}
"""


async def test_a_kill_keeps_the_flags_fields_and_model_mode_restores_it_byte_for_byte(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "killswitch.flagd.json"
    flag.write_bytes(FLAG_WITH_RULES)
    original = json.loads(FLAG_WITH_RULES)
    console, incident_id = await _console_with(tmp_path, flag)
    await console.containment.snapshot(incident_id)
    first = await console.containment.kill_switch(incident_id, "human")
    killed = json.loads(flag.read_bytes())
    route = killed["flags"]["credit-scorer-route"]
    assert (route["state"], route["defaultVariant"]) == ("ENABLED", "human")
    assert route["metadata"] == original["flags"]["credit-scorer-route"]["metadata"]
    assert route["variants"]["canary"] == "model"
    # The rule would still send beta users to the model: set aside while killed.
    assert route["targeting"] == {}
    assert killed["metadata"] == original["metadata"]
    assert killed["flags"]["dark-mode"] == original["flags"]["dark-mode"]
    await console.containment.kill_switch(incident_id, "fallback")  # a second kill, same incident
    back = await console.containment.kill_switch(incident_id, "model")
    assert flag.read_bytes() == FLAG_WITH_RULES  # as it was before the first kill
    notes = [
        e.detail for e in await console.triage.timeline(incident_id) if e.kind == "containment"
    ]
    assert "targeting rule, which could still route to the model, set aside" in notes[0]
    kept = hashlib.sha256(FLAG_WITH_RULES).hexdigest()
    assert f"restored as before the incident's first kill, sha256:{kept}" in notes[-1]
    assert f"file sha256 {first.before} → {first.after}" in notes[0] and first.before == kept
    assert f"file sha256 {back.before} → {back.after}" in notes[-1] and back.after == kept
    audited = [
        r.content.get("detail", {}).get("timeline", "") for r in await console.store.audit.records()
    ]
    assert notes[0] in audited and notes[-1] in audited
    await console.close()


async def test_routing_back_keeps_other_flags_changed_during_the_incident(tmp_path: Path) -> None:
    flag = tmp_path / "killswitch.flagd.json"
    flag.write_bytes(FLAG_WITH_RULES)
    console, incident_id = await _console_with(tmp_path, flag)
    await console.containment.snapshot(incident_id)
    await console.containment.kill_switch(incident_id, "refuse")
    during = json.loads(flag.read_bytes())
    during["flags"]["dark-mode"]["defaultVariant"] = "on"  # another team's change meanwhile
    flag.write_text(json.dumps(during))
    await console.containment.kill_switch(incident_id, "model")
    now = json.loads(flag.read_bytes())
    original = json.loads(FLAG_WITH_RULES)
    assert now["flags"]["credit-scorer-route"] == original["flags"]["credit-scorer-route"]
    assert now["flags"]["dark-mode"]["defaultVariant"] == "on"
    await console.close()


async def test_a_targeting_rule_that_cannot_reach_the_model_stays_during_a_kill(
    tmp_path: Path,
) -> None:
    raw = json.loads(FLAG_WITH_RULES)
    rule = {"if": [{"in": [{"var": "tier"}, ["vip"]]}, "human", None]}
    raw["flags"]["credit-scorer-route"]["targeting"] = rule
    flag = tmp_path / "killswitch.flagd.json"
    flag.write_text(json.dumps(raw))
    flip(flag, "credit-scorer", "refused")
    assert json.loads(flag.read_bytes())["flags"]["credit-scorer-route"]["targeting"] == rule


def test_a_control_file_is_read_only_as_a_bounded_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    assert read_control(path) is None  # absent
    path.write_bytes(b"x" * (1 << 20))
    assert len(read_control(path) or b"") == 1 << 20  # at the cap: read
    path.write_bytes(b"x" * ((1 << 20) + 1))
    with pytest.raises(ControlFileRefusedError, match="over the 1,048,576-byte cap"):
        read_control(path)


async def test_a_flag_file_that_cannot_be_written_fails_in_one_sentence_audited(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "gone" / "killswitch.flagd.json"  # its directory is not there
    console, incident_id = await _console_with(tmp_path, flag)
    with pytest.raises(ActionFailedError) as failed:
        await console.containment.kill_switch(incident_id, "human", override="now")
    assert str(failed.value) == (
        f"could not create the lock for {flag}: no such file or directory; it is unchanged"
    )
    assert (
        await console.containment.containment_states(incident_id) == []
    )  # nothing recorded as written
    assert ("kill-switch", "failed") in await _outcomes(console)
    await console.close()


def test_readers_of_a_control_file_are_never_refused_while_it_is_flipped(tmp_path: Path) -> None:
    import threading

    path = flags_file(tmp_path)
    stop = threading.Event()
    problems: list[str] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                assert read_control(path) is not None
                reads += 1
            except ControlFileRefusedError as exc:  # an atomic replace is not a refusal
                problems.append(str(exc))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    routes = ["human", "fallback", "refused", "model"]
    for n in range(1000):
        flip(path, "credit-scorer", routes[n % 4])
    stop.set()
    for thread in threads:
        thread.join()
    assert problems == [] and reads > 100


async def test_an_invalid_flag_file_is_refused_in_one_line_and_left_as_it_is(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "killswitch.flagd.json"
    flag.write_bytes(b'{"flags": {"credit-scorer-route": {"state": "ON"}}}')
    console, incident_id = await _console_with(tmp_path, flag)
    with pytest.raises(TriageRefusedError) as refused:
        await console.containment.kill_switch(incident_id, "human", override="now")
    assert str(refused.value).startswith(f"{flag} is not a valid flag file now: ")
    assert "\n" not in str(refused.value)
    assert flag.read_bytes() == b'{"flags": {"credit-scorer-route": {"state": "ON"}}}'
    await console.close()
