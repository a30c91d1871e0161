"""Baselines of known-good and the chain diff: each link changed alone, nothing changed, new
and gone links, when a change first appears, automatic baselines, findings kept."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.helpers import ingest_once, source
from thirdbook.cli import main
from thirdbook.config import ContainmentConfig
from thirdbook.domain.alerts import Firing
from thirdbook.domain.baselines import Chain, chain_diff, link_diff, observe, output_signature
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.events import InferenceEvent
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SYSTEM = "You score credit applications. Never use protected characteristics."
POLICY = "sha256:policy-2026"


def record(n: int, *, version: str = "v6", **change: Any) -> dict[str, Any]:
    """One decision as logged, with `change` replacing parts of its chain."""
    return {
        "v": 1,
        "kind": "inference",
        "ts": (T0 + timedelta(seconds=n)).isoformat(),
        "request_id": f"req-{version}-{n:04d}",
        "route": change.get("route", "model"),
        "model": {
            "name": "credit-scorer",
            "version": version,
            "weights_hash": change.get("weights", f"sha256:{version}"),
        },
        "prompt": {
            "template_id": "credit-decision",
            "template_version": change.get("template_version", "3"),
            "system": change.get("system", SYSTEM),
            "user": f"applicant {n}",
            "retrieved": [{"id": "policy-cr7", "content_hash": change.get("policy", POLICY)}],
            "tool_outputs": [
                {"tool": "bureau_lookup", "output": change.get("tool", "score=700 delinquencies=0")}
            ],
        },
        "response": {"decision": change.get("decision", "approve" if n % 2 else "decline")},
    }


def events(records: list[dict[str, Any]]) -> list[InferenceEvent]:
    return [InferenceEvent.model_validate(r) for r in records]


def diff_of(**change: Any) -> dict[str, Any]:
    """The links of 20 changed decisions (the change from the 5th on) against 20 good ones."""
    base = observe(
        events([record(n) for n in range(20)]),
        flag_sha256="f1",
        flag_route="model",
        registry_alias="serving",
    )
    later = [record(100 + n, **(change if n >= 5 else {})) for n in range(20)]
    flags = {
        k: change.pop(k) for k in ("flag_sha256", "flag_route", "registry_alias") if k in change
    }
    now = observe(
        events(later),
        **{"flag_sha256": "f1", "flag_route": "model", "registry_alias": "serving", **flags},
    )
    return {link.label: link for link in chain_diff(base, now, events(later))}


def changed(links: dict[str, Any]) -> list[str]:
    return sorted(label for label, link in links.items() if link.status != "unchanged")


def test_tool_output_shapes_are_inferred_from_json_and_key_value_text() -> None:
    assert output_signature("score=700 delinquencies=0") == "{delinquencies: int, score: int}"
    assert output_signature('{"score": 700, "flags": ["x"]}') == "{flags: [str], score: int}"
    assert output_signature("score=700.5 frozen=true") == "{frozen: bool, score: float}"
    assert output_signature("the bureau is down") == "text"


def test_nothing_changed_lists_every_link_unchanged() -> None:
    links = diff_of()
    assert changed(links) == []
    assert {link.kind for link in links.values()} == {
        "template",
        "documents",
        "tool_shape",
        "weights",
        "flag_file",
        "registry_alias",
        "decision_mix",
    }


def test_the_template_text_changed_alone_is_named_with_a_unified_diff_and_first_seen() -> None:
    links = diff_of(system="You score credit applications.")
    assert changed(links) == ["template credit-decision@3"]
    link = links["template credit-decision@3"]
    assert link.first_seen == T0 + timedelta(seconds=105)
    assert link.first_request == "req-v6-0105"
    assert "-You score credit applications. Never use protected characteristics." in link_diff(link)


def test_an_outdated_document_changed_alone_is_a_set_diff_with_first_seen() -> None:
    links = diff_of(policy="sha256:policy-2019")
    assert changed(links) == ["documents credit-decision@3"]
    link = links["documents credit-decision@3"]
    assert link.first_seen == T0 + timedelta(seconds=105)
    lines = link_diff(link)
    assert "+ policy-cr7 sha256:policy-2019" in lines
    assert "  policy-cr7 sha256:policy-2026" in lines  # still in the set (the first 5 decisions)


def test_a_tool_output_shape_changed_alone_is_a_field_diff() -> None:
    links = diff_of(tool='{"score": "700", "delinquencies": 0, "frozen": false}')
    assert changed(links) == ["tool_shape bureau_lookup"]
    lines = link_diff(links["tool_shape bureau_lookup"])
    assert "~ score: int → str" in lines and "+ frozen: bool" in lines
    assert "  delinquencies: int" in lines


def test_the_weights_hash_changed_alone() -> None:
    links = diff_of(weights="sha256:other")
    assert changed(links) == ["weights"]
    assert links["weights"].first_seen == T0 + timedelta(seconds=105)


def test_the_flag_file_and_the_registry_alias_each_changed_alone() -> None:
    assert changed(diff_of(flag_sha256="f2", flag_route="human")) == ["flag_file"]
    assert changed(diff_of(registry_alias="")) == ["registry_alias"]


def test_the_decision_mix_changed_alone_is_a_table() -> None:
    links = diff_of(decision="decline")
    assert changed(links) == ["decision_mix"]
    table = link_diff(links["decision_mix"])
    assert table[0].split() == ["share", "known-good", "now"]
    assert any(row.split() == ["decision", "decline", "50.0%", "90.0%"] for row in table)


def test_a_new_template_and_a_gone_one() -> None:
    links = diff_of(template_version="4")
    # From the 5th decision on the template is a new version; the old one still shows first.
    assert links["template credit-decision@4"].status == "new"
    assert links["template credit-decision@4"].first_seen == T0 + timedelta(seconds=105)
    base = observe(events([record(n) for n in range(3)]))
    now = observe(events([record(n, template_version="4") for n in range(3)]))
    gone = {link.label: link.status for link in chain_diff(base, now, [])}
    assert gone["template credit-decision@3"] == "gone"
    assert gone["documents credit-decision@3"] == "gone"


def test_an_empty_chain_has_no_mix() -> None:
    assert Chain().decision_mix == {} and observe([]).decisions == 0


# -- the store, the service and the command line --------------------------------------------


def registry_text(v7_good: bool = False) -> str:
    return json.dumps(
        {
            "models": {
                "credit-scorer": {
                    "versions": {
                        "v6": {"weights_hash": "sha256:v6", "known_good": True},
                        "v7": {"weights_hash": "sha256:v7", "known_good": v7_good},
                    },
                    "aliases": {"serving": "v7"},
                }
            }
        }
    )


async def estate(tmp_path: Path) -> tuple[Services, int, Path]:
    """v6 decisions (good), then v7's, whose retrieval returns an outdated policy from its
    10th decision on; a drift alert on v7 and an incident declared on it."""
    lines = [record(n) for n in range(30)]
    lines += [
        record(100 + n, version="v7", **({"policy": "sha256:policy-2019"} if n >= 10 else {}))
        for n in range(30)
    ]
    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir()
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(log))
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(40,),
            at=T0 + timedelta(seconds=100),
            summary="drift",
        )
    )
    registry = tmp_path / "registry.json"
    registry.write_text(registry_text())
    flags = tmp_path / "flags.json"
    flags.write_text('{"flags": {}}')
    paths = ContainmentConfig(registry=registry, flag_file=flags, window_before_s=50)
    services = build_services(store, containment=paths)
    incident = await services.triage.declare(
        [alert.id], title="drift", severity="SEV2", blast_radius="medium"
    )
    return services, incident.id, registry


async def test_no_baseline_yet_says_how_to_take_one(tmp_path: Path) -> None:
    services, incident_id, _ = await estate(tmp_path)
    with pytest.raises(TriageRefusedError, match="thirdbook baseline credit-scorer VERSION"):
        await services.forensics.chain(incident_id)
    with pytest.raises(TriageRefusedError, match="no incident #99"):
        await services.forensics.chain(99)
    await services.store.close()


async def test_a_snapshot_baselines_the_known_good_version_and_forensics_names_the_change(
    tmp_path: Path,
) -> None:
    services, incident_id, _ = await estate(tmp_path)
    await services.containment.snapshot(incident_id)
    rows = await services.store.baselines.of_model("credit-scorer")
    assert [(r.version, r.why) for r in rows] == [("v6", "snapshot")]
    assert services.objects.path_of(rows[0].sha256).exists()
    report = await services.forensics.chain(incident_id)
    assert report.suspect == "v7" and report.baseline.version == "v6"
    by_label = {link.label: link for link in report.changed}
    docs = by_label["documents credit-decision@3"]
    assert docs.first_seen == T0 + timedelta(seconds=110)
    assert docs.first_request == "req-v7-0110"
    assert "weights" in by_label  # v7's weights are not v6's
    assert "template credit-decision@3" not in by_label
    # A second snapshot takes no second baseline: the model has one.
    await services.containment.snapshot(incident_id)
    assert len(await services.store.baselines.of_model("credit-scorer")) == 1
    await services.store.close()


async def test_keeping_a_finding_puts_it_on_the_timeline_and_in_the_audit(tmp_path: Path) -> None:
    services, incident_id, _ = await estate(tmp_path)
    await services.forensics.baseline("credit-scorer", "v6")
    kept = await services.forensics.keep(incident_id, ["documents"])
    assert [link.label for link in kept] == ["documents credit-decision@3"]
    timeline = await services.store.incidents.timeline(incident_id)
    findings = [e.detail for e in timeline if e.kind == "finding"]
    assert len(findings) == 1 and "documents credit-decision@3 changed" in findings[0]
    assert "first seen 2026-11-27T10:01:50" in findings[0]
    audit = await services.store.audit.for_incident(incident_id)
    assert any(
        r.content.get("detail", {}).get("link") == "documents credit-decision@3" for r in audit
    )
    with pytest.raises(TriageRefusedError, match="not a changed link"):
        await services.forensics.keep(incident_id, ["flag_file"])
    await services.store.close()


async def test_mark_known_good_writes_the_registry_and_baselines_the_version(
    tmp_path: Path,
) -> None:
    services, _, registry = await estate(tmp_path)
    row = await services.forensics.mark_known_good("credit-scorer", "v7")
    assert json.loads(registry.read_text())["models"]["credit-scorer"]["versions"]["v7"][
        "known_good"
    ]
    assert row is not None and (row.version, row.why) == ("v7", "marked known-good")
    with pytest.raises(TriageRefusedError, match="no version v9"):
        await services.forensics.mark_known_good("credit-scorer", "v9")
    await services.store.close()


async def test_a_baseline_of_a_version_with_no_decisions_is_refused(tmp_path: Path) -> None:
    services, _, _ = await estate(tmp_path)
    with pytest.raises(TriageRefusedError, match="logged no decisions"):
        await services.forensics.baseline("credit-scorer", "v9")
    await services.store.close()


async def _closed_estate(tmp_path: Path) -> tuple[int, Path]:
    services, incident_id, registry = await estate(tmp_path)
    await services.store.close()
    return incident_id, registry


def test_the_commands(tmp_path: Path) -> None:
    incident_id, registry = asyncio.run(_closed_estate(tmp_path))
    toml = tmp_path / "thirdbook.toml"
    toml.write_text(
        f'[store]\npath = "{tmp_path / "data" / "thirdbook.db"}"\n'
        f'[containment]\nregistry = "{registry}"\nflag_file = "{tmp_path / "flags.json"}"\n'
        "window_before_s = 50\n"
    )
    runner = CliRunner()
    args = ["--config", str(toml)]
    missing = runner.invoke(main, [*args, "forensics", str(incident_id)])
    assert missing.exit_code == 1 and "thirdbook baseline credit-scorer" in missing.output
    taken = runner.invoke(main, [*args, "baseline", "credit-scorer", "v6", "--window", "2h"])
    assert taken.exit_code == 0, taken.output
    assert "{delinquencies: int, score: int}" in taken.output
    shown = runner.invoke(main, [*args, "forensics", str(incident_id), "--keep", "documents"])
    assert shown.exit_code == 0, shown.output
    assert "changed    documents credit-decision@3  first seen 2026-11-27T10:01:50" in shown.output
    assert "+ policy-cr7 sha256:policy-2019" in shown.output
    assert "kept 1 finding(s)" in shown.output
    as_json = runner.invoke(main, [*args, "forensics", str(incident_id), "--json"])
    assert json.loads(as_json.output)["suspect"] == "v7"
    bad = runner.invoke(main, [*args, "baseline", "credit-scorer", "v6", "--window", "soon"])
    assert bad.exit_code == 2 and "not a window" in bad.output
    unknown = runner.invoke(main, [*args, "forensics", "42"])
    assert unknown.exit_code == 1 and "no incident #42" in unknown.output
