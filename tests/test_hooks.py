"""Configured hooks: containment actions run a command or call a webhook, recorded whatever
happens."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.helpers import with_containment
from tests.test_evidence import _incident_with_log
from thirdbook.actuators.hooks import OUTPUT_LIMIT, run_hook
from thirdbook.config import HookConfig
from thirdbook.domain.control import FlagdFile, route_for, routing_flags
from thirdbook.domain.errors import ActionFailedError
from thirdbook.services.factory import Services


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "hook.py"
    path.write_text("import json, sys, time\n" + body)
    return [sys.executable, str(path)]


async def contained(tmp_path: Path, *hooks: HookConfig, flags: bool = True) -> tuple[Services, int]:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    flag_file = tmp_path / "killswitch.flagd.json"
    flag_file.write_text(routing_flags("credit-scorer").model_dump_json(by_alias=True))
    console = with_containment(console, hooks=list(hooks), flag_file=flag_file if flags else None)
    await console.containment.snapshot(incident_id)
    return console, incident_id


def route(tmp_path: Path) -> str:
    flags = FlagdFile.model_validate_json((tmp_path / "killswitch.flagd.json").read_bytes())
    return route_for(flags, "credit-scorer")


async def test_a_command_hook_also_runs_with_the_incident_as_json_and_its_output_is_kept(
    tmp_path: Path,
) -> None:
    seen = tmp_path / "seen.json"
    argv = script(
        tmp_path, f"open({str(seen)!r}, 'w').write(sys.stdin.read())\nprint('review desk paged')\n"
    )
    console, incident_id = await contained(tmp_path, HookConfig(action="kill-switch", command=argv))
    await console.containment.kill_switch(incident_id, "human")
    assert route(tmp_path) == "human"  # thirdbook's own change, and the hook as well
    payload = json.loads(seen.read_text())
    assert payload["action"] == "kill-switch" and payload["incident"]["id"] == incident_id
    assert payload["detail"]["variant"] == "human" and payload["detail"]["model"] == "credit-scorer"
    [entry] = [e for e in await console.triage.timeline(incident_id) if e.kind == "hook"]
    assert "ok (exit 0)" in entry.detail and "review desk paged" in entry.detail
    sha = entry.detail.split("output sha256:")[1][:64]
    assert console.objects.path_of(sha).read_bytes() == b"review desk paged\n"
    await console.close()


async def test_an_instead_hook_acts_in_place_of_the_file_write(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    argv = script(tmp_path, f"open({str(seen)!r}, 'w').write(sys.stdin.read())\n")
    hook = HookConfig(action="kill-switch", command=argv, when="instead")
    console, incident_id = await contained(tmp_path, hook, flags=False)
    written = await console.containment.kill_switch(incident_id, "fallback")
    assert (written.path, written.before, written.after) == (None, "", "")
    assert json.loads(seen.read_text())["detail"]["flag_file"] is None
    notes = [
        e.detail for e in await console.triage.timeline(incident_id) if e.kind == "containment"
    ]
    assert notes[-1].endswith("routed to fallback by its hooks")
    await console.close()


async def test_a_failing_hook_fails_the_action_audited_and_says_the_change_stands(
    tmp_path: Path,
) -> None:
    argv = script(tmp_path, "print('desk unreachable'); sys.exit(3)\n")
    console, incident_id = await contained(tmp_path, HookConfig(action="kill-switch", command=argv))
    with pytest.raises(ActionFailedError, match=r"exit 3.*kill-switch change stands"):
        await console.containment.kill_switch(incident_id, "refuse")
    assert route(tmp_path) == "refused"
    [entry] = [e for e in await console.triage.timeline(incident_id) if e.kind == "hook"]
    assert "FAILED (exit 3)" in entry.detail and "desk unreachable" in entry.detail
    [record] = [
        r.content
        for r in await console.store.audit.for_incident(incident_id)
        if r.content["outcome"] == "failed"
    ]
    assert record["action"] == "kill-switch" and "exit 3" in str(record)
    await console.close()


async def test_a_hook_that_hangs_is_killed_with_its_children_at_the_timeout(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "child.pid"
    argv = ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; echo started; wait"]
    started = time.monotonic()
    result = await run_hook(HookConfig(action="rollback", command=argv, timeout_s=0.5), b"{}")
    assert time.monotonic() - started < 5
    assert not result.ok and result.error == "timed out after 0.5 s"
    assert result.output == b"started\n"
    child = int(pid_file.read_text())
    for _ in range(50):
        if not Path(f"/proc/{child}").exists() or "Z" in _state(child):
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except OSError:
        return "Z"


async def test_hook_output_is_bounded_and_a_missing_command_is_a_clear_failure(
    tmp_path: Path,
) -> None:
    loud = script(tmp_path, "sys.stdout.write('x' * 1_000_000)\n")
    result = await run_hook(HookConfig(action="quarantine", command=loud), b"{}")
    assert result.ok and len(result.output) == OUTPUT_LIMIT and result.truncated
    missing = await run_hook(
        HookConfig(action="quarantine", command=[str(tmp_path / "nope")]), b"{}"
    )
    assert not missing.ok and missing.error is not None and "cannot run it" in missing.error


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[str, bytes, str | None]], list[int]]]:
    received: list[tuple[str, bytes, str | None]] = []
    statuses = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body, self.headers.get("Authorization")))
            self.send_response(statuses[0])
            self.end_headers()
            self.wfile.write(b"queued rollback 77")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received, statuses
    server.shutdown()


async def test_a_webhook_gets_the_action_as_its_body_with_headers_from_the_environment(
    tmp_path: Path,
    webhook: tuple[str, list[tuple[str, bytes, str | None]], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_rollback import registry_file

    url, received, statuses = webhook
    monkeypatch.setenv("DEPLOY_TOKEN", "s3cret")
    hook = HookConfig(
        action="rollback",
        url=f"{url}/rollback",
        when="instead",
        headers={"Authorization": "Bearer ${DEPLOY_TOKEN}"},
    )
    console, incident_id = await contained(tmp_path, hook)
    registry = registry_file(tmp_path / "data")
    console = with_containment(console, registry=registry)
    plan = await console.containment.rollback(incident_id)
    [(path, body, auth)] = received
    assert path == "/rollback" and auth == "Bearer s3cret"
    assert json.loads(body)["detail"]["to_version"] == plan.to_version == "v6"
    # Instead: the hook made the move; thirdbook did not write the registry.
    assert json.loads(registry.read_text())["models"]["credit-scorer"]["aliases"]["serving"] == "v7"
    [entry] = [e for e in await console.triage.timeline(incident_id) if e.kind == "hook"]
    assert "ok (HTTP 200)" in entry.detail and "queued rollback 77" in entry.detail
    assert "s3cret" not in entry.detail
    statuses[0] = 500
    with pytest.raises(ActionFailedError, match=r"HTTP 500.*changed nothing itself"):
        await console.containment.rollback(incident_id)
    await console.close()


async def test_dry_run_names_the_hooks_and_runs_none(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    argv = script(tmp_path, f"open({str(seen)!r}, 'w').write('ran')\n")
    console, incident_id = await contained(tmp_path, HookConfig(action="kill-switch", command=argv))
    lines = await console.containment.preview(incident_id, "kill-switch", mode="human")
    assert any(line.startswith("would run the kill-switch hook") for line in lines)
    assert not seen.exists() and route(tmp_path) == "model"
    await console.close()
