"""RELIABILITY E1-E6 and snapshot-first: the kill switch file is written safely, once, audited."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import with_containment
from tests.test_evidence import _incident_with_log
from thirdbook.actuators.config_write import (
    ABSENT,
    ConfigConflictError,
    ConfigInvalidError,
    file_hash,
    replace_file,
)
from thirdbook.actuators.kill_switch import flip, validate_flagd
from thirdbook.domain.control import FlagdFile, route_for, routing_flags
from thirdbook.domain.errors import TriageRefusedError


def flags_file(tmp_path: Path) -> Path:
    path = tmp_path / "killswitch.flagd.json"
    path.write_text(json.dumps(routing_flags("credit-scorer").model_dump(by_alias=True)))
    path.chmod(0o640)
    return path


def test_e4_a_kill_is_enabled_with_a_default_variant_away_from_the_model(tmp_path: Path) -> None:
    path = flags_file(tmp_path)
    flip(path, "credit-scorer", "human")
    data = json.loads(path.read_text())
    flag = data["flags"]["credit-scorer-route"]
    assert (flag["state"], flag["defaultVariant"]) == ("ENABLED", "human")
    assert route_for(FlagdFile.model_validate(data), "credit-scorer") == "human"
    assert "DISABLED" not in path.read_text()


def test_e6_mode_is_preserved(tmp_path: Path) -> None:
    path = flags_file(tmp_path)
    flip(path, "credit-scorer", "refused")
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)


def test_e3_invalid_content_is_never_put_in_place(tmp_path: Path) -> None:
    path = flags_file(tmp_path)
    before = path.read_bytes()
    for bad in (
        b"{not json",
        b'{"flags": {"x": {"state": "ON", "variants": {}}}}',
        b'{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "b"}}}',
    ):
        with pytest.raises(ConfigInvalidError):
            replace_file(path, bad, file_hash(path), validate_flagd)
    assert path.read_bytes() == before


def test_e5_two_responders_flipping_at_once_one_wins_one_conflicts(tmp_path: Path) -> None:
    path = flags_file(tmp_path)
    seen = file_hash(path)  # both looked at the same file
    flip(path, "credit-scorer", "human", expected=seen)
    with pytest.raises(ConfigConflictError) as conflict:
        flip(path, "credit-scorer", "fallback", expected=seen)
    assert conflict.value.expected == seen and conflict.value.found == file_hash(path)
    assert json.loads(path.read_text())["flags"]["credit-scorer-route"]["defaultVariant"] == "human"


def test_e1_thousands_of_flips_never_show_a_reader_a_torn_file(tmp_path: Path) -> None:
    path = flags_file(tmp_path)
    stop = threading.Event()
    bad: list[str] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            data = path.read_bytes()
            reads += 1
            try:
                validate_flagd(data)
            except ValueError as exc:
                bad.append(f"{exc}: {data[:60]!r}")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    routes = ["human", "fallback", "refused", "model"]
    for n in range(2000):
        flip(path, "credit-scorer", routes[n % 4])
    stop.set()
    for t in threads:
        t.join()
    assert bad == [] and reads > 1000


def test_e2_a_writer_killed_midway_leaves_the_old_or_new_file_and_no_litter(tmp_path: Path) -> None:
    path = flags_file(tmp_path)
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from thirdbook.actuators.kill_switch import flip\n"
        "routes = ['human', 'fallback', 'refused', 'model']\n"
        "n = 0\n"
        "while True:\n"
        "    flip(Path(sys.argv[1]), 'credit-scorer', routes[n % 4]); n += 1\n"
    )
    for _ in range(15):
        writer = subprocess.Popen([sys.executable, "-c", script, str(path)])
        time.sleep(0.3 + (os.getpid() % 7) / 100)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        validate_flagd(path.read_bytes())  # old or new, never torn
    flip(path, "credit-scorer", "human")  # the next write cleans up what a killed one left
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_missing_file_is_created_only_when_expected_absent(tmp_path: Path) -> None:
    path = tmp_path / "new.flagd.json"
    flip(path, "credit-scorer", "human", expected=ABSENT)
    assert json.loads(path.read_text())["flags"]["credit-scorer-route"]["state"] == "ENABLED"


async def test_kill_switch_is_refused_before_a_snapshot_and_override_is_a_deviation(
    tmp_path: Path,
) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    path = flags_file(tmp_path)
    console = with_containment(console, flag_file=path)
    with pytest.raises(TriageRefusedError, match="snapshot first"):
        await console.containment.kill_switch(incident_id, "human")
    assert json.loads(path.read_text())["flags"]["credit-scorer-route"]["defaultVariant"] == "model"
    written = await console.containment.kill_switch(
        incident_id, "human", override="customers harmed now"
    )
    before, after = written.before, written.after
    assert before != after and written.path == path
    kinds = [(e.kind, e.detail) for e in await console.triage.timeline(incident_id)]
    assert ("deviation", "kill switch without a complete snapshot: customers harmed now") in kinds
    containment = [d for k, d in kinds if k == "containment"]
    assert containment and before in containment[0] and after in containment[0]
    outcomes = [
        (r.content["action"], r.content["outcome"]) for r in await console.store.audit.records()
    ]
    assert ("kill-switch", "refused") in outcomes
    await console.containment.snapshot(incident_id)
    await console.containment.kill_switch(
        incident_id, "fallback"
    )  # after the snapshot: no override needed
    flags = FlagdFile.model_validate_json(path.read_bytes())
    assert route_for(flags, "credit-scorer") == "fallback"
    await console.store.close()


async def test_a_flip_is_written_then_observed_once_the_logs_show_the_new_route(
    tmp_path: Path,
) -> None:
    from tests.helpers import ingest_once, source

    console, incident_id, log = await _incident_with_log(tmp_path)
    path = flags_file(tmp_path)
    console = with_containment(console, flag_file=path)
    await console.containment.snapshot(incident_id)
    await console.containment.kill_switch(incident_id, "human")
    [state] = await console.containment.containment_states(incident_id)
    assert (state.action, state.value, state.observed) == ("kill switch", "human", None)
    # A request that names no model: the logs have only ever named credit-scorer.
    line = (
        b'{"v":1,"kind":"inference","ts":"2026-11-27T10:59:00+00:00",'
        b'"request_id":"req-after","route":"human"}\n'
    )
    with log.open("ab") as f:
        f.write(line)
    await ingest_once(console.store, source(log))
    [state] = await console.containment.containment_states(incident_id)
    assert state.observed is not None and state.observed >= state.written
    await console.store.close()


def _request_routed_to_a_human(request_id: str, routed_from: str | None) -> bytes:
    record = {"v": 1, "kind": "inference", "ts": "2026-11-27T10:59:00+00:00"}
    record |= {"request_id": request_id, "route": "human"}
    if routed_from is not None:
        record["routed_from"] = routed_from
    return json.dumps(record).encode() + b"\n"


async def test_a_kill_switch_is_observed_by_its_own_models_requests_not_another_models(
    tmp_path: Path,
) -> None:
    """Two models in the logs: the support agent's chats handed to a person (and requests
    that name no model, which could be either's) do not show the credit model's kill switch
    taking effect; the credit model's own requests routed to a human do."""
    from tests.helpers import ingest_once, source

    console, incident_id, log = await _incident_with_log(tmp_path)  # credit-scorer's traffic
    with log.open("ab") as f:  # and the support agent's, before the kill
        f.write(
            b'{"v":1,"kind":"agent_action","ts":"2026-11-27T10:58:00+00:00",'
            b'"agent":"support-agent","tool":"send_email","request_id":"chat-1"}\n'
        )
    await ingest_once(console.store, source(log))
    console = with_containment(console, flag_file=flags_file(tmp_path))
    try:
        await console.containment.snapshot(incident_id)
        await console.containment.kill_switch(incident_id, "human")
        [state] = await console.containment.containment_states(incident_id)
        assert (state.model, state.value, state.observed) == ("credit-scorer", "human", None)

        with log.open("ab") as f:
            f.write(_request_routed_to_a_human("chat-2", "support-agent"))
            f.write(_request_routed_to_a_human("req-unnamed", None))
        await ingest_once(console.store, source(log))
        [state] = await console.containment.containment_states(incident_id)
        assert state.observed is None  # still only written: no credit decision went to a human

        with log.open("ab") as f:
            f.write(_request_routed_to_a_human("req-credit", "credit-scorer"))
        await ingest_once(console.store, source(log))
        [state] = await console.containment.containment_states(incident_id)
        assert state.observed is not None and state.observed >= state.written
    finally:  # an open store would keep pytest from exiting
        await console.store.close()


async def test_dry_run_shows_the_change_and_changes_nothing(tmp_path: Path) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    path = flags_file(tmp_path)
    console = with_containment(console, flag_file=path)
    before = path.read_bytes()
    with pytest.raises(TriageRefusedError, match="snapshot first"):
        await console.containment.preview(
            incident_id, "kill-switch", mode="human"
        )  # as it would be
    lines = await console.containment.preview(
        incident_id, "kill-switch", mode="human", override="now"
    )
    assert lines[0].startswith("would route credit-scorer to human")
    assert lines[-1] == "would record a deviation: now"
    assert path.read_bytes() == before
    assert [e.kind for e in await console.triage.timeline(incident_id)] == ["declared", "alert"]
    await console.store.close()
