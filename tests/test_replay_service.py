"""Replay runs over a real store and a real chat server on 127.0.0.1: verdicts, resume,
skipped records, evidence, the timeline and the audit chain, and the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.helpers import ingest_once, source
from tests.replay_server import ChatServer
from thirdbook.cli import main
from thirdbook.config import ContainmentConfig, ReplayConfig, ReplayEndpointConfig, Settings
from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.records import EventFilter
from thirdbook.domain.replay_payload import captured_parts
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store

KEY = "sk-test-DO-NOT-LEAK-9c3a71"
GOOD = [f"req-good-{i}" for i in range(3)]
UPSTREAM = [f"req-up-{i}" for i in range(2)]
NO_PROMPT = "req-noprompt-0"


def decide(version: str, body: dict[str, Any]) -> str:
    """v6 approves a 'good' applicant, v7 declines everyone; 'upstream' text: both decline."""
    user = captured_parts(body["messages"]).user or ""
    if "upstream" in user or version == "v7":
        return "decline"
    return "approve" if "good" in user else "decline"


def _line(n: int, record: dict[str, Any]) -> bytes:
    record = {"v": 1, "ts": f"2026-11-27T10:00:{n:02d}+00:00", **record}
    return json.dumps(record).encode() + b"\n"


def _decision(n: int, request_id: str, user: str | None) -> bytes:
    record: dict[str, Any] = {
        "kind": "inference",
        "request_id": request_id,
        "model": {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:b7"},
        "response": {"decision": "decline"},
    }
    if user is not None:
        record["prompt"] = {"system": "score the applicant", "user": user}
    return _line(n, record)


def _feedback(n: int, request_id: str) -> bytes:
    return _line(
        n,
        {
            "kind": "feedback",
            "target": "credit-scorer",
            "category": "wrong_decline",
            "request_id": request_id,
        },
    )


def _log(tmp_path: Path) -> Path:
    lines = [_decision(i, rid, f"{rid}: good applicant") for i, rid in enumerate(GOOD)]
    lines += [_decision(10 + i, rid, f"{rid}: upstream good") for i, rid in enumerate(UPSTREAM)]
    lines.append(_decision(20, NO_PROMPT, None))
    lines += [_feedback(30 + i, rid) for i, rid in enumerate(GOOD + UPSTREAM)]
    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir()
    log.write_bytes(b"".join(lines))
    return log


def _settings(server: ChatServer, **replay: Any) -> Settings:
    endpoints = {
        v: ReplayEndpointConfig(url=server.url(v), api_key_env="TB_TEST_KEY", timeout_s=10)
        for v in ("v6", "v7")
    }
    return Settings(replay=ReplayConfig(endpoints=endpoints, **replay))


async def _incident(tmp_path: Path, settings: Settings) -> tuple[Services, int]:
    """A store with the log ingested, a drift alert on v7, an incident, and a registry where
    v6 is known good and v7 serves."""
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(_log(tmp_path)))
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(1,),
            at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            summary="approval rate fell",
        )
    )
    registry = tmp_path / "registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "credit-scorer": {
                        "versions": {
                            "v6": {"weights_hash": "sha256:b6", "known_good": True},
                            "v7": {"weights_hash": "sha256:b7"},
                        },
                        "aliases": {"serving": "v7"},
                    }
                }
            }
        )
    )
    containment = ContainmentConfig(
        registry=registry, flag_file=tmp_path / "absent.json", window_before_s=3600
    )
    services = build_services(store, settings, containment=containment)
    incident = await services.triage.declare(
        [alert.id], title="v7 declines", severity="SEV2", blast_radius="medium"
    )
    return services, incident.id


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TB_TEST_KEY", KEY)


async def test_a_window_run_is_a_regression_and_the_upstream_inputs_say_upstream(
    tmp_path: Path,
) -> None:
    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        outcome = await services.replay.run(incident_id)
        ids = tmp_path / "upstream.txt"
        ids.write_text("\n".join(UPSTREAM) + "\nreq-not-logged\n")
        upstream = await services.replay.run(incident_id, inputs=f"file:{ids}")
        await services.close()
    run = outcome.run
    assert (run.known_good, run.suspect, run.status) == ("v6", "v7", "finished")
    assert run.verdict == "regression in the model change"
    assert run.counts["regression in the model change"] == 3 and run.counts["upstream"] == 2
    by_id = {line.request_id: line for line in outcome.lines}
    assert by_id["req-good-0"].known_good == "approve" and by_id["req-good-0"].suspect == "decline"
    assert by_id["req-good-0"].expected_source == "feedback"
    assert NO_PROMPT not in by_id
    assert run.skipped == {"the record holds no prompt (system, user, context or tools)": 1}
    assert upstream.run.verdict == "upstream"
    assert {line.request_id for line in upstream.lines} == set(UPSTREAM)
    assert upstream.run.skipped == {"no decision has this request id": 1}
    # The key was sent, and is nowhere in the data directory.
    assert all(h.get("authorization") == f"Bearer {KEY}" for h in server.headers)
    assert _files_holding(tmp_path / "data", KEY.encode()) == []


async def test_every_request_and_answer_is_an_evidence_object_on_the_timeline_and_audited(
    tmp_path: Path,
) -> None:
    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        outcome = await services.replay.run(incident_id)
        answers = await services.store.replay_runs.answers(outcome.run.id)
        timeline = await services.store.incidents.timeline(incident_id)
        audit = await services.queries.audit_records(incident_id)
        check = await services.verify.store_and_evidence()
        await services.close()
    assert len(answers) == 2 * len(GOOD + UPSTREAM)
    for answer in answers:
        request = json.loads(services.objects.path_of(answer.request_sha256).read_bytes())
        assert request["model"] == answer.version and request["temperature"] == 0
        assert answer.answer_sha256 is not None and services.objects.has(answer.answer_sha256)
        assert answer.endpoint == server.url(answer.version)
    replayed = [e for e in timeline if e.kind == "replay"]
    assert len(replayed) == 1 and "regression in the model change" in replayed[0].detail
    said = [r.content for r in audit if r.content.get("action") == "replay"]
    assert any(c.get("detail", {}).get("verdict") == "regression in the model change" for c in said)
    assert KEY not in json.dumps([r.content for r in audit])
    assert check.chain == []  # the chain still verifies with the run in it


async def test_resume_after_cancel_sends_no_answered_pair_again(tmp_path: Path) -> None:
    with ChatServer(decide, delay_s=0.1) as server:
        services, incident_id = await _incident(tmp_path, _settings(server, concurrency=1))
        cancel = asyncio.Event()

        def progress(p: Any) -> None:
            if p.done >= 3:
                cancel.set()

        first = await services.replay.run(incident_id, on_progress=progress, cancel=cancel)
        assert first.cancelled and first.run.status == "cancelled"
        kept = {
            (a.request_id, a.version)
            for a in await services.store.replay_runs.answers(first.run.id)
        }
        assert 3 <= len(kept) < 10
        sent_before = len(server.bodies)
        again = await services.replay.run(incident_id)
        audit = await services.queries.audit_records(incident_id)
        await services.close()
    said = [
        (r.content["outcome"], r.content["detail"])
        for r in audit
        if r.content["action"] == "replay"
    ]
    assert any(o == "interrupted" and d.get("status") == "cancelled" for o, d in said)
    assert any(o == "started" and d.get("answered") == len(kept) for o, d in said)
    resent = {
        (captured_parts(b["messages"]).user.split(":")[0], b["model"])  # type: ignore[union-attr]
        for b in server.bodies[sent_before:]
    }
    assert not resent & kept
    assert again.run.id == first.run.id and again.run.status == "finished"
    assert len(again.lines) == len(GOOD + UPSTREAM)
    assert again.run.verdict == "regression in the model change"


async def test_a_commander_mark_sets_the_expected_outcome_and_recomputes_the_verdict(
    tmp_path: Path,
) -> None:
    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        ids = tmp_path / "ids.txt"
        ids.write_text(UPSTREAM[0] + "\n")
        run = await services.replay.run(incident_id, inputs=f"file:{ids}")
        assert run.run.verdict == "upstream"
        marked = await services.replay.mark(run.run.id, UPSTREAM[0], "right")
        timeline = await services.store.incidents.timeline(incident_id)
        await services.close()
    assert marked.run.verdict == "not reproduced"
    assert marked.lines[0].expected_source == "commander"
    assert "marked right" in timeline[-1].detail


async def test_refusals_say_why(tmp_path: Path) -> None:
    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        no_v6 = Settings(
            replay=ReplayConfig(endpoints={"v7": ReplayEndpointConfig(url=server.url("v7"))})
        )
        missing = build_services(services.store, no_v6, containment=services.containment_config)
        with pytest.raises(TriageRefusedError, match=r"version v6.*--endpoint v6=URL"):
            await missing.replay.run(incident_id)
        looking = build_services(
            services.store,
            services.settings,
            containment=services.containment_config,
            read_only=True,
        )
        with pytest.raises(TriageRefusedError, match="read-only"):
            await looking.replay.run(incident_id)
        with pytest.raises(TriageRefusedError, match="no alert #99"):
            await services.replay.run(incident_id, inputs="alert:99")
        with pytest.raises(TriageRefusedError, match="kind:metric events are not decisions"):
            await services.replay.run(incident_id, inputs="filter:kind:metric")
        assert server.requests == 0
        one = await services.replay.run(incident_id, inputs="alert:1")  # the alert's decision
        picked = await services.replay.run(incident_id, inputs=f"filter:request:{UPSTREAM[1]}")
        await services.close()
    assert [line.request_id for line in one.lines] == ["req-good-0"]
    assert one.run.verdict == "regression in the model change"
    assert [line.request_id for line in picked.lines] == [UPSTREAM[1]]
    assert picked.run.verdict == "upstream"


def test_the_cli_prints_each_input_and_the_verdict_and_never_the_key(tmp_path: Path) -> None:
    with ChatServer(decide) as server:
        settings = _settings(server)
        incident_id = asyncio.run(_setup_and_close(tmp_path, settings))
        config = tmp_path / "thirdbook.toml"
        config.write_text(
            f'[containment]\nregistry = "{tmp_path / "registry.json"}"\n'
            "window_before_s = 3600\n"
            '[replay.endpoints.v7]\napi_key_env = "TB_TEST_KEY"\n'
            f'url = "{server.url("v7")}"\n'
        )
        args = ["--data-dir", str(tmp_path / "data"), "--config", str(config)]
        runner = CliRunner()
        refused = runner.invoke(main, [*args, "replay", str(incident_id)])
        ran = runner.invoke(
            main, [*args, "replay", str(incident_id), "--endpoint", f"v6={server.url('v6')}"]
        )
        as_json = runner.invoke(
            main,
            [*args, "replay", "1", "--endpoint", f"v6={server.url('v6')}", "--json"],
        )
        mark = runner.invoke(main, [*args, "replay-mark", "1", GOOD[0], "wrong"])
        bad_mark = runner.invoke(main, [*args, "replay-mark", "1", GOOD[0], "maybe"])
    assert refused.exit_code == 1 and "no replay endpoint for version v6" in refused.output
    assert ran.exit_code == 0, ran.output
    rows = [line for line in ran.stdout.splitlines() if line.startswith("req-")]
    assert len(rows) == len(GOOD + UPSTREAM)
    assert any(
        r.startswith("req-good-0 ")
        and "v6: approve" in r
        and "v7: decline" in r
        and "regression in the model change" in r
        for r in rows
    )
    assert "regression in the model change (3 regression in the model change" in ran.stdout
    assert "1 skipped: the record holds no prompt" in ran.stdout
    assert "replay: 10/10 answered, 0 failed" in ran.stderr
    assert as_json.exit_code == 0
    doc = json.loads(as_json.stdout)
    assert doc["run"]["id"] == 2 and len(doc["inputs"]) == len(GOOD + UPSTREAM)
    assert mark.exit_code == 0 and GOOD[0] in mark.stdout
    assert bad_mark.exit_code == 2
    for result in (refused, ran, as_json, mark):
        assert KEY not in result.output and KEY not in result.stderr
    assert _files_holding(tmp_path / "data", KEY.encode()) == []


async def _setup_and_close(tmp_path: Path, settings: Settings) -> int:
    services, incident_id = await _incident(tmp_path, settings)
    await services.close()
    return incident_id


async def test_the_evidence_bundle_holds_the_runs_requests_and_answers(tmp_path: Path) -> None:
    import tarfile

    from thirdbook.services.export import ExportService

    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        outcome = await services.replay.run(incident_id)
        await services.containment.snapshot(incident_id)
        out = tmp_path / "bundle.tar.gz"
        await services.export.export(incident_id, out)
        answers = await services.store.replay_runs.answers(outcome.run.id)
        await services.close()
    check = ExportService.verify_bundle(out)
    assert check.problems == []
    with tarfile.open(out) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers()}
        root = f"thirdbook-incident-{incident_id}"
        doc = tar.extractfile(f"{root}/replay.json")
        assert doc is not None
        runs = json.loads(doc.read())
    assert runs[0]["verdict"] == "regression in the model change"
    assert len(runs[0]["answers"]) == len(answers)
    for answer in answers:
        for sha in (answer.request_sha256, answer.answer_sha256):
            assert f"objects/{sha}" in names or f"masked/{sha}" in names


async def test_an_endpoint_url_that_cannot_be_used_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        with pytest.raises(TriageRefusedError, match=r"version v6 cannot be used: .*[Pp]ort"):
            await services.replay.run(incident_id, endpoints={"v6": "http://127.0.0.1:99999/v1"})
        await services.close()
    assert server.requests == 0


async def test_a_feedback_alert_replays_the_decisions_its_reports_name(tmp_path: Path) -> None:
    with ChatServer(decide) as server:
        services, incident_id = await _incident(tmp_path, _settings(server))
        reports = await services.store.events.page(
            EventFilter(kind="feedback"),
            limit=20,
        )
        naming_upstream = [
            e.id for e in reports.items if any(rid in e.raw.decode() for rid in UPSTREAM)
        ]
        alert = await services.store.alerts.record(
            Firing(
                rule="wrong declines",
                kind="feedback",
                key="credit-decision wrong_decline",
                event_ids=tuple(naming_upstream),
                at=datetime(2026, 11, 27, 10, 1, tzinfo=UTC),
                summary="2 wrong_decline reports",
            )
        )
        outcome = await services.replay.run(incident_id, inputs=f"alert:{alert.id}")
        await services.close()
    assert {line.request_id for line in outcome.lines} == set(UPSTREAM)
    assert outcome.run.verdict == "upstream"


async def test_an_incident_declared_from_a_service_report_alert_finds_its_model_and_versions(
    tmp_path: Path,
) -> None:
    """Reports against a decision service name the service, not the model: the incident's
    model and suspect version come from the decisions the reports name."""
    with ChatServer(decide) as server:
        services, _ = await _incident(tmp_path, _settings(server))
        reports = await services.store.events.page(EventFilter(kind="feedback"), limit=20)
        alert = await services.store.alerts.record(
            Firing(
                rule="wrong declines",
                kind="feedback",
                key="credit-decision wrong_decline",
                event_ids=tuple(e.id for e in reports.items),
                at=datetime(2026, 11, 27, 10, 1, tzinfo=UTC),
                summary="5 wrong_decline reports against credit-decision",
            )
        )
        incident = await services.triage.declare(
            [alert.id], title="decision service declines", severity="SEV2", blast_radius="medium"
        )
        outcome = await services.replay.run(incident.id, inputs=f"alert:{alert.id}")
        await services.close()
    assert (outcome.run.known_good, outcome.run.suspect) == ("v6", "v7")
    assert len(outcome.lines) == len(GOOD + UPSTREAM)
