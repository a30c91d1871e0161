"""Explain a decision: the four things on tape, present or missing, and answering inquiries."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.helpers import ingest_once, source
from tests.test_rollback import registry_file
from thirdbook.cli import main
from thirdbook.config import ContainmentConfig
from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.services.explain import UnknownDecisionError
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store

SECRET = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
ARRIVED = datetime.now(UTC) - timedelta(seconds=41)


def decision(request_id: str = "req-1", **overrides: Any) -> dict[str, Any]:
    """A decision with all four things on tape (a part set to None is left out)."""
    record: dict[str, Any] = {
        "v": 1,
        "kind": "inference",
        "ts": "2026-11-27T14:02:00+00:00",
        "request_id": request_id,
        "subject": "applicant-7",
        "model": {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:77"},
        "prompt": {
            "template_id": "credit-decision",
            "template_version": "3",
            "system": "Never use protected characteristics.",
            "user": f"Applicant 7 asks for 5000. key={SECRET}",
            "retrieved": [{"id": "policy-12", "content_hash": "sha256:aa", "text": "Policy"}],
            "tool_outputs": [{"tool": "bureau", "output": '{"score": 612}'}],
        },
        "response": {"text": "Declined: thin file", "decision": "decline", "score": 0.31},
        "action": {"type": "letter", "target": "applicant-7", "detail": "adverse action"},
    }
    for key, value in overrides.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def write(tmp_path: Path, *records: dict[str, Any]) -> Path:
    path = tmp_path / "app.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def inquiry(inquiry_id: str = "inq-1", request_id: str = "req-1") -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "inquiry",
        "ts": ARRIVED.isoformat(),
        "inquiry_id": inquiry_id,
        "source": "regulator",
        "request_id": request_id,
        "question": "Why was this application declined?",
    }


async def services_over(tmp_path: Path, *records: dict[str, Any]) -> Services:
    log = write(tmp_path, *records)
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(log))
    svc = build_services(store, containment=ContainmentConfig(registry=registry_file(tmp_path)))
    await svc.registry.observe()
    return svc


def prepared(tmp_path: Path, *records: dict[str, Any]) -> None:
    """A store holding `records`, closed again (for the command-line tests)."""

    async def go() -> None:
        await (await services_over(tmp_path, *records)).close()

    asyncio.run(go())


def cli(tmp_path: Path, *args: str) -> Any:
    config = tmp_path / "thirdbook.toml"
    config.write_text(f'[containment]\nregistry = "{tmp_path / "registry.json"}"\n')
    env = {"THIRDBOOK_DATA_DIR": str(tmp_path / "data"), "THIRDBOOK_CONFIG": str(config)}
    return CliRunner().invoke(main, list(args), env=env)


async def test_all_four_things_present_and_the_weights_are_the_registrys(tmp_path: Path) -> None:
    svc = await services_over(tmp_path, decision())
    found = await svc.explain.explain(request_id="req-1")
    assert found.missing() == []
    assert found.model.check == "matches"
    assert found.prompt is not None and found.prompt.retrieved[0].id == "policy-12"
    assert found.response is not None and found.response.decision == "decline"
    assert found.action is not None and found.action.type == "letter"
    assert found.route.route == "model"
    await svc.close()


@pytest.mark.parametrize("part", ["model", "prompt", "response", "action"])
def test_each_missing_part_is_marked_missing(tmp_path: Path, part: str) -> None:
    prepared(tmp_path, decision(**{part: None}))
    out = cli(tmp_path, "explain", "req-1")
    assert out.exit_code == 0, out.output
    label = {"model": "model version", "action": "downstream action"}.get(part, part)
    assert f"decision: missing: {label}" in out.output
    assert "MISSING (not logged)" in out.output


def test_a_weights_hash_not_the_registrys_is_flagged_loudly(tmp_path: Path) -> None:
    model = {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:bad"}
    prepared(tmp_path, decision(model=model))
    out = cli(tmp_path, "explain", "req-1")
    line = next(x for x in out.output.splitlines() if "registry check" in x)
    assert "WEIGHTS MISMATCH" in line and "sha256:bad" in line and "sha256:77" in line
    data = json.loads(cli(tmp_path, "explain", "req-1", "--json").output)
    assert data["model"]["check"] == "MISMATCH"


async def test_an_unknown_request_id_is_an_error_of_its_own(tmp_path: Path) -> None:
    svc = await services_over(tmp_path, decision())
    with pytest.raises(UnknownDecisionError, match="req-nope"):
        await svc.explain.explain(request_id="req-nope")
    await svc.close()


def test_an_unknown_request_id_says_so_in_one_line(tmp_path: Path) -> None:
    prepared(tmp_path, decision())
    out = cli(tmp_path, "explain", "req-nope")
    assert out.exit_code == 1
    assert len(out.output.strip().splitlines()) == 1 and "req-nope" in out.output


def test_the_inquiry_path_and_the_subject_path(tmp_path: Path) -> None:
    feedback = {
        "v": 1,
        "kind": "feedback",
        "ts": "2026-11-27T14:05:00+00:00",
        "target": "credit-scorer",
        "category": "wrong_decline",
        "request_id": "req-1",
    }
    prepared(tmp_path, decision(), feedback, inquiry())
    out = cli(tmp_path, "explain", "--inquiry", "inq-1")
    assert out.exit_code == 0, out.output
    assert "decision: request: req-1" in out.output
    assert "inquiry: question: Why was this application declined?" in out.output
    assert any(x.startswith("related: feedback") for x in out.output.splitlines())
    by_subject = cli(tmp_path, "explain", "--subject", "applicant-7", "--markdown")
    assert by_subject.output.startswith("# Decision req-1")
    assert "## 2 prompt" in by_subject.output


def test_secrets_are_masked_and_piped_output_is_one_fact_a_line(tmp_path: Path) -> None:
    user = {**decision()["prompt"], "user": f"key={SECRET}\x1b]52;c;x\x07"}
    prepared(tmp_path, decision(prompt=user))
    for args in (
        ("explain", "req-1"),
        ("explain", "req-1", "--json"),
        ("explain", "req-1", "--markdown"),
    ):
        out = cli(tmp_path, *args)
        assert SECRET not in out.output and "\x1b" not in out.output
    lines = cli(tmp_path, "explain", "req-1").output.splitlines()
    assert all(line.count(": ") >= 2 for line in lines)
    assert sum("2 prompt: user:" in line for line in lines) == 1
    assert "1 model: weights hash: sha256:77" in lines


async def test_answer_goes_on_the_timeline_and_in_the_audit_chain(tmp_path: Path) -> None:
    svc = await services_over(tmp_path, decision(), inquiry())
    alert = await svc.store.alerts.record(
        Firing(
            rule="unexplainable",
            kind="unexplainable",
            key="req-1",
            event_ids=(2,),
            at=ARRIVED,
            summary="inquiry inq-1",
        )
    )
    incident = await svc.triage.declare(
        [alert.id], title="regulator asks", severity="SEV3", blast_radius="medium"
    )
    done = await svc.explain.answer("inq-1", note="sent to the regulator")
    assert done.incident_id == incident.id
    assert 40 <= done.elapsed_s < 100
    assert svc.objects.has(done.markdown_sha256) and svc.objects.has(done.json_sha256)
    kept = svc.objects.path_of(done.markdown_sha256).read_text()
    assert "# Decision req-1" in kept and "sent to the regulator" in kept
    timeline = await svc.store.incidents.timeline(incident.id)
    entry = next(t for t in timeline if t.kind == "inquiry answered")
    assert "s after it arrived" in entry.detail and done.markdown_sha256 in entry.detail
    await svc.close()


async def test_answer_without_an_incident_is_still_audited_and_refused_read_only(
    tmp_path: Path,
) -> None:
    svc = await services_over(tmp_path, decision(), inquiry())
    done = await svc.explain.answer("inq-1")
    assert done.incident_id is None and "no incident" in done.sentence()
    rows = await svc.store.fetchall("SELECT content FROM audit ORDER BY seq")
    assert any("inquiry answered" in r[0] and "elapsed_s" in r[0] for r in rows)
    viewer = build_services(svc.store, read_only=True)
    with pytest.raises(TriageRefusedError, match="read-only"):
        await viewer.explain.answer("inq-1")
    await svc.close()


def test_answer_on_the_command_line(tmp_path: Path) -> None:
    prepared(tmp_path, decision(), inquiry())
    out = cli(tmp_path, "answer", "inq-1", "--note", "sent")
    assert out.exit_code == 0, out.output
    assert "s after it" in out.output and "no incident" in out.output
    unknown = cli(tmp_path, "answer", "inq-none")
    assert unknown.exit_code == 1 and "inq-none" in unknown.output


def test_explain_needs_exactly_one_id(tmp_path: Path) -> None:
    prepared(tmp_path, decision())
    out = cli(tmp_path, "explain")
    assert out.exit_code != 0 and "exactly one" in out.output
