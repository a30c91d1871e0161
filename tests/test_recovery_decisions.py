"""Recovery decisions through the command line: restore with conditions (flag rules, a band
override), retrain behind the quarantine sign-off, retire with its note; each refused before
containment unless overridden, each on the timeline and moving the incident to recovering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.helpers import event_line
from tests.test_rollback import registry_file
from thirdbook.cli import main
from thirdbook.demo.control_files import rule_router
from thirdbook.domain.control import FlagdFile, routing_flags
from thirdbook.domain.events import MetricEvent, ModelRef
from thirdbook.domain.recovery import BandOverride, parse_expiry
from thirdbook.domain.rules import DriftRule, TriggerSettings
from thirdbook.triggers.engine import TriggerEngine

CONFIG = """
[containment]
registry = "{registry}"
flag_file = "{flags}"

[[triggers.drift]]
name = "acc band"
model = "credit-scorer"
metric = "acc"
low = 0.5
consecutive = 1
"""


@dataclass(frozen=True)
class Estate:
    data: Path
    config: Path
    flags: Path
    log: Path

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        options = ["--data-dir", str(self.data), "--config", str(self.config)]
        return CliRunner().invoke(main, [*options, *args], env=env)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.output

    def timeline(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.ok("timeline", "1", "--json").splitlines()]


@pytest.fixture
def estate(tmp_path: Path) -> Estate:
    flags = tmp_path / "killswitch.flagd.json"
    flags.write_text(json.dumps(routing_flags("credit-scorer").model_dump(by_alias=True)))
    config = tmp_path / "thirdbook.toml"
    config.write_text(CONFIG.format(registry=registry_file(tmp_path), flags=flags))
    log = tmp_path / "serving.jsonl"
    low = event_line(6, kind="metric").replace(b'"value":0.9', b'"value":0.1')
    log.write_bytes(b"".join(event_line(n) for n in range(5)) + low)
    made = Estate(tmp_path / "data", config, flags, log)
    made.ok("ingest", "--once", str(log))
    assert "acc band" in made.ok("alerts")  # the metric out of band fired: alert #1
    return made


@pytest.fixture
def declared(estate: Estate) -> Estate:
    estate.ok("declare", "1", "--title", "drift", "--severity", "SEV2", "--blast-radius", "high")
    return estate


def test_restore_is_refused_before_containment_and_an_override_is_a_deviation(
    declared: Estate,
) -> None:
    refused = declared.run("decide", "1", "restore", "--cohort", "10")
    assert refused.exit_code == 1 and "contain first" in refused.output
    before = declared.flags.read_bytes()
    declared.ok("decide", "1", "restore", "--cohort", "10", "--override", "regulator asked")
    assert declared.flags.read_bytes() != before
    kinds = [(e["kind"], e["detail"]) for e in declared.timeline()]
    assert ("deviation", "restore decision before containment: regulator asked") in kinds


def test_restore_writes_flag_rules_and_a_band_the_rules_list_shows(declared: Estate) -> None:
    declared.ok("kill-switch", "1", "--mode", "human", "--override", "customers harmed")
    out = declared.ok(
        "decide",
        "1",
        "restore",
        "--filter",
        "income>=40000",
        "--filter",
        "template=credit-decision",
        "--cohort",
        "25",
        "--band",
        "0.9..",
        "--band-expires",
        "48h",
    )
    assert "decision #1 (restore)" in out
    flag = json.loads(declared.flags.read_text())["flags"]["credit-scorer-route"]
    assert flag["state"] == "ENABLED" and flag["defaultVariant"] == "human"
    assert flag["targeting"] == {
        "if": [
            {
                "and": [
                    {">=": [{"var": "income"}, 40000.0]},
                    {"==": [{"var": "template"}, "credit-decision"]},
                ]
            },
            {"fractional": [["model", 25], ["human", 75]]},
            "human",
        ]
    }
    route_of = rule_router(
        FlagdFile.model_validate(json.loads(declared.flags.read_text())), "credit-scorer"
    )
    assert route_of is not None
    assert (
        route_of({"targetingKey": "a-1", "income": 20000, "template": "credit-decision"}) == "human"
    )

    entries = declared.timeline()
    decision = next(e for e in entries if e["kind"] == "decision")
    assert "a 25 % cohort" in str(decision["detail"]) and "acc band [0.9, +inf]" in str(
        decision["detail"]
    )
    assert any(e["kind"] == "phase" and e["detail"] == "detected → recovering" for e in entries)
    assert "previous file kept as sha256:" in str(decision["detail"])

    rules = declared.ok("rules")
    assert "acc band" in rules and "override [0.9, +inf] IN FORCE" in rules
    listed = declared.ok("decisions", "1")
    assert "restore" in listed and "not yet observed in the serving logs" in listed
    assert "band acc band [0.9, +inf] expires" in listed

    # Observed once the serving logs show both sides of the condition after the write.
    model = {"name": "credit-scorer", "version": "v6"}
    served = [
        {"request_id": "r-in", "route": "model", "model": model},
        {"request_id": "r-out", "route": "human", "routed_from": "credit-scorer"},
    ]
    for n, record in enumerate(served):
        with declared.log.open("ab") as f:
            line = {"v": 1, "kind": "inference", "ts": f"2026-11-27T11:00:0{n}+00:00", **record}
            f.write(json.dumps(line).encode() + b"\n")
        declared.ok("ingest", "--once", str(declared.log))
        listed = declared.ok("decisions", "1")
        assert ("not yet observed" in listed) == (n == 0), listed
    assert " · observed " in listed


def test_retrain_is_refused_until_the_quarantine_audit_is_signed_off(
    declared: Estate, tmp_path: Path
) -> None:
    data = tmp_path / "q3-applications.csv"
    data.write_text("income,amount\n1,2\n")
    declared.ok("quarantine", "add", "1", str(data), "--override", "poisoned rows")
    refused = declared.run("decide", "1", "retrain", "--data", "q4.csv", "--signer", "dana")
    assert refused.exit_code == 1 and "not signed off" in refused.output
    checked = declared.run("quarantine", "check", str(data))
    assert checked.exit_code == 1 and "QUARANTINED by incident #1" in checked.output

    declared.ok("quarantine", "sign-off", "1", "--reason", "rows 40-90 removed; rest reviewed")
    checked = declared.run("quarantine", "check", str(data))
    assert checked.exit_code == 0, checked.output
    assert "AUDITED" in checked.output and str(data) in checked.output

    out = declared.ok("decide", "1", "retrain", "--data", "q4.csv", "--signer", "dana")
    assert "retrain plan" in out and "signs off: dana" in out
    decision = next(e for e in declared.timeline() if e["kind"] == "decision")
    assert "1 entry" in str(decision["detail"])
    again = declared.run("quarantine", "sign-off", "1", "--reason", "again")
    assert again.exit_code == 1 and "already signed off" in again.output


def test_retire_sets_the_kill_switch_for_good_and_keeps_the_note(
    declared: Estate, tmp_path: Path
) -> None:
    declared.ok("kill-switch", "1", "--mode", "human", "--override", "customers harmed")
    note = tmp_path / "note.md"
    note.write_text("Credit decisions go to the underwriting team from today.\n")
    refused = declared.run(
        "decide", "1", "retire", "--replacement", "rules", "--note-file", str(note)
    )
    assert refused.exit_code == 1 and "--replacement-name" in refused.output
    out = declared.ok(
        "decide",
        "1",
        "retire",
        "--replacement",
        "rules",
        "--replacement-name",
        "scorecard-2019",
        "--note-file",
        str(note),
        "--override",
        "no snapshot needed for a retirement",
    )
    assert "replaced by rules scorecard-2019" in out
    flag = json.loads(declared.flags.read_text())["flags"]["credit-scorer-route"]
    assert flag["defaultVariant"] == "fallback"
    sha = out.split("note kept as sha256:")[1].split()[0]
    kept = next((declared.data / "evidence").rglob(sha[2:]), None)
    assert kept is not None and b"underwriting team" in kept.read_bytes()
    restore = declared.run("decide", "1", "restore")
    assert restore.exit_code == 1 and "retired" in restore.output


def test_retire_note_is_written_in_the_editor(declared: Estate, tmp_path: Path) -> None:
    declared.ok("kill-switch", "1", "--mode", "human", "--override", "customers harmed")
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "Support routes every chat to a person." >> "$1"\n')
    editor.chmod(0o755)
    result = declared.run(
        "decide",
        "1",
        "retire",
        "--replacement",
        "human",
        "--override",
        "x",
        env={"EDITOR": str(editor), "VISUAL": ""},
    )
    assert result.exit_code == 0, result.output
    assert "Support routes every chat to a person." in result.output


def _metric(value: float, at: datetime) -> MetricEvent:
    return MetricEvent(
        kind="metric",
        ts=at,
        model=ModelRef(name="credit-scorer", version="v7"),
        metric="acc",
        value=value,
        window_end=at,
    )


def test_a_band_override_is_used_from_its_moment_until_it_expires() -> None:
    rule = DriftRule(name="acc band", model="credit-scorer", metric="acc", low=0.5, consecutive=1)
    engine = TriggerEngine(TriggerSettings(drift=[rule]))
    t0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert engine.observe(_metric(0.8, t0), 1) == []  # in the configured band
    engine.overrides = [
        BandOverride(rule="acc band", low=0.9, high=None, since=t0, until=parse_expiry("1h", t0))
    ]
    [fired] = engine.observe(_metric(0.8, t0 + timedelta(minutes=10)), 2)
    assert "outside [0.9, +inf]" in fired.summary
    assert engine.observe(_metric(0.8, t0 + timedelta(hours=2)), 3) == []  # expired


def test_ingest_judges_new_windows_against_a_restores_band_until_it_expires(
    declared: Estate,
) -> None:
    """Through the real path: the decision is in the store, ingest's trigger engine reads
    it, and a window that the configured band allows fires under the tighter one."""
    declared.ok("kill-switch", "1", "--mode", "human", "--override", "customers harmed")
    declared.ok("decide", "1", "restore", "--band", "0.95..", "--band-expires", "1h")
    soon = datetime.now(UTC) + timedelta(seconds=5)
    later = soon + timedelta(hours=2)  # past the expiry: the configured band again
    with declared.log.open("ab") as f:
        for at, value in ((soon, 0.9), (later, 0.9)):
            model = {"name": "credit-scorer", "version": "v6"}
            line = {"v": 1, "kind": "metric", "ts": at.isoformat(), "model": model}
            line |= {"metric": "acc", "value": value, "window_end": at.isoformat()}
            f.write(json.dumps(line).encode() + b"\n")
    declared.ok("ingest", "--once", str(declared.log))
    alerts = [json.loads(line) for line in declared.ok("alerts", "--json").splitlines()]
    [v6] = [a for a in alerts if a["key"] == "credit-scorer v6"]
    assert "acc outside [0.95, +inf] for 1 consecutive windows" in v6["summary"]
    assert v6["fired"] == 1  # the window after the expiry did not fire again


def test_the_report_names_the_restore_with_its_written_time_and_band(declared: Estate) -> None:
    declared.ok("kill-switch", "1", "--mode", "human", "--override", "customers harmed")
    declared.ok("decide", "1", "restore", "--cohort", "25", "--band", "0.9..")
    report = declared.ok("report", "1")
    section = report.split("## Recovery decision")[1].split("\n## ")[0]
    row = next(line for line in section.splitlines() if line.startswith("| restore"))
    assert "25 % cohort" in row and "not yet observed" in row, section
    assert "Band override on acc band: \\[0.9, +inf\\] until" in section, section
