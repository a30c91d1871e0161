"""The post-incident report: its sections and fields for a scripted incident (linted as
Markdown), untrusted text escaped, secrets masked, the Article 73 clock for each category,
the report in the evidence bundle, and the clock on the console's banner."""

from __future__ import annotations

import asyncio
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pymarkdown.api import PyMarkdownApi

from tests.helpers import ingest_once, source
from tests.test_console_flows import incident_console, screen_text, service, wait_until
from tests.test_evidence import _incident_with_log
from thirdbook.cli import main
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.domain.regulatory import RegulatoryConfig, SeriousMark
from thirdbook.evidence.bundle_check import verify_bundle
from thirdbook.services.factory import Services
from thirdbook.services.report import ReportService

AWS = "AKIAIOSFODNN7EXAMPLE"
HOSTILE = f"1. <script>alert(1)</script> [click](http://evil.example) | ## fake {AWS}"
ACTOR = Actor(user="scribe", uid=1001, origin="local")


def lint(text: str) -> list[str]:
    """pymarkdown's complaints (line length aside: tables and hashes are long)."""
    result = PyMarkdownApi().disable_rule_by_identifier("md013").scan_string(text)
    return [str(failure) for failure in result.scan_failures]


def agent_line(n: int, amount: float) -> bytes:
    record = {
        "v": 1,
        "kind": "agent_action",
        "ts": f"2026-11-27T10:05:{n:02d}+00:00",
        "agent": "support-agent",
        "tool": "issue_refund",
        "target": f"acct-{n}",
        "amount": amount,
        "currency": "GBP",
    }
    return json.dumps(record).encode() + b"\n"


async def scripted_incident(tmp_path: Path) -> tuple[Services, int]:
    """Incident #1 over 200 decisions by credit-scorer v7, three refunds by an agent, a
    snapshot, a kill switch written, an action item, a hostile note, a decision, a finding,
    a runbook edit, and a serious marking."""
    console, incident_id, _ = await _incident_with_log(tmp_path)
    agent_log = tmp_path / "logs" / "agent.jsonl"
    agent_log.write_bytes(b"".join(agent_line(n, a) for n, a in enumerate((10, 20.5, 30))))
    await ingest_once(console.store, source(agent_log, name="agent"))
    await console.containment.snapshot(incident_id)
    await console.store.containment.written(
        incident_id, "kill switch", "credit-scorer", "route", "human"
    )
    finding = await console.review.add_finding(
        incident_id, "factor", "drift alarms went to an unowned channel"
    )
    await console.triage.add_action_item(
        incident_id,
        title="Own the drift channel",
        owner="ops-lead",
        due=datetime(2027, 1, 8).date(),
        kind="prevent",
        finding_id=finding.id,
    )
    await console.triage.add_note(incident_id, HOSTILE)
    await console.triage.handover(incident_id, "carol", "scribe")
    incidents = console.store.incidents
    await incidents.note(incident_id, ACTOR, "decision", "restore v6 with a 10% cohort")
    await incidents.note(incident_id, ACTOR, "runbook-edit", "drift.md: page the owner first")
    await console.serious.mark(incident_id, "widespread", datetime.now(UTC) - timedelta(hours=20))
    return console, incident_id


async def test_the_report_of_a_scripted_incident_has_every_section_and_passes_the_linter(
    tmp_path: Path,
) -> None:
    console, incident_id = await scripted_incident(tmp_path)
    config = RegulatoryConfig(sector="consumer credit", developer="Acme Models Ltd")
    report = ReportService(console.store, config, 10**9, review=console.review.review)
    text = await report.markdown(incident_id)
    assert lint(text) == []
    for heading in (
        "# Post-incident report: incident #1",
        "## Summary",
        "## Impact",
        "## Timeline",
        "## Detection",
        "## Containment",
        "## Evidence",
        "## Replay and forensics",
        "## Recovery decision",
        "## Findings",
        "## Action items",
        "## Runbook changes",
        "## Regulatory",
        "### NIST AI 600-1 (GV-4.3-002) incident fields",
        "### AI Incident Database / CSET fields",
        "### EU AI Act Article 73",
    ):
        assert f"\n{heading}\n" in f"\n{text}", heading
    # Impact: by route and version, and the money the agent moved.
    assert "| model | credit-scorer | v7 | 200 | 97 |" in text
    assert "| support-agent | GBP | 3 | 60.50 |" in text
    # Containment with written and observed; the snapshot's manifest hash.
    assert "| kill switch | credit-scorer | human |" in text and "not yet observed" in text
    [snapshot] = await console.store.snapshots.for_incident(incident_id)
    assert f"`{snapshot.manifest_sha256}`" in text
    assert "restore v6 with a 10% cohort" in text
    assert "\n### Contributing factor\n" in text
    assert "- Scribe: carol (since " in text
    assert "drift alarms went to an unowned channel" in text
    assert "drift.md: page the owner first" in text
    row = "| #1 | prevent | finding #1 | Own the drift channel | ops-lead | 2027-01-08 | open |"
    assert row in text
    assert "## Measured times" in text and "| Time to declare |" in text
    # Regulatory: from the store, from config, or to complete.
    assert "| Title | drift |" in text
    assert "| Date of incident | 2026-11-27 10:00:00 UTC (first signal) |" in text
    assert "| Sector of deployment | consumer credit |" in text
    assert "| Alleged developer | Acme Models Ltd |" in text
    assert "| Alleged deployer | *to complete* |" in text
    assert "| Tangible harm | yes: 60.50 GBP moved by agents in the window |" in text
    assert "| Period | 2 days from awareness |" in text
    assert "| As of this report | Art. 73 report due in 1d 3h |" in text
    assert "initial report" in text
    await console.close()


async def test_the_report_masks_secrets_and_escapes_untrusted_text(tmp_path: Path) -> None:
    console, incident_id = await scripted_incident(tmp_path)
    text = await console.report.markdown(incident_id)
    assert AWS not in text and "‹secret: AWS Access Key›" in text
    assert "<script>" not in text and "](http" not in text and "\n## fake" not in text
    assert "\\<script\\>" in text and "\\[click\\]" in text and "\\| \\#\\# fake" in text
    assert lint(text) == []
    await console.close()


@pytest.mark.parametrize(
    ("category", "days"),
    [("death", 10), ("widespread", 2), ("critical-infrastructure", 2), ("other", 15)],
)
async def test_article_73_deadline_for_each_category(
    tmp_path: Path, category: str, days: int
) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    aware = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    mark = await console.serious.mark(incident_id, category, aware)
    assert mark.deadline == aware + timedelta(days=days)
    again = await console.serious.clock(incident_id)
    assert again is not None and again.deadline == mark.deadline and again.category == category
    assert (
        mark.due_text(mark.deadline - timedelta(days=1, hours=4)) == "Art. 73 report due in 1d 4h"
    )
    assert mark.due_text(mark.deadline + timedelta(hours=3)) == "Art. 73 report OVERDUE by 3h 0m"
    [entry] = [e for e in await console.triage.timeline(incident_id) if e.kind == "serious"]
    assert f"category {category}" in entry.detail
    chain = [json.dumps(r.content) for r in await console.store.audit.for_incident(incident_id)]
    assert any("serious incident (EU AI Act Art. 73)" in c for c in chain)
    await console.close()


async def test_marking_serious_refuses_an_unknown_category_and_a_future_awareness(
    tmp_path: Path,
) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    with pytest.raises(TriageRefusedError, match="not a category"):
        await console.serious.mark(incident_id, "mild")
    with pytest.raises(TriageRefusedError, match="future"):
        await console.serious.mark(incident_id, "other", datetime.now(UTC) + timedelta(days=1))
    assert await console.serious.clock(incident_id) is None
    await console.close()


def test_the_complete_report_is_due_once_the_incident_is_in_review() -> None:
    from thirdbook.domain.regulatory import report_due

    mark = SeriousMark(category="other", aware_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert report_due(mark, "contained").startswith("initial report")
    assert report_due(mark, "reviewing").startswith("complete report")


def test_the_cli_marks_serious_and_writes_the_report(tmp_path: Path) -> None:
    async def setup() -> tuple[Path, int]:
        console, incident_id = await scripted_incident(tmp_path)
        await console.close()
        return console.store.path, incident_id

    store_path, incident_id = asyncio.run(setup())
    runner = CliRunner()
    args = ["--data-dir", str(store_path.parent)]
    result = runner.invoke(
        main, [*args, "serious", str(incident_id), "--category", "death", "--aware-at", "2h"]
    )
    assert result.exit_code == 0, result.output
    assert "marked serious (death)" in result.output and "due in 9d 21h" in result.output
    result = runner.invoke(main, [*args, "report", str(incident_id)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Post-incident report: incident #1")
    assert "| Period | 10 days from awareness |" in result.output
    out = tmp_path / "report.md"
    result = runner.invoke(main, [*args, "report", str(incident_id), "--out", str(out)])
    assert result.exit_code == 0 and f"wrote {out}" in result.output
    assert lint(out.read_text()) == []
    result = runner.invoke(main, [*args, "report", "99"])
    assert result.exit_code == 1 and "no incident #99" in result.output


async def test_the_export_puts_the_report_in_the_bundle_with_its_hash_in_the_manifest(
    tmp_path: Path,
) -> None:
    console, incident_id = await scripted_incident(tmp_path)
    bundle = tmp_path / "bundle.tar.gz"
    await console.export.export(incident_id, bundle)
    check = verify_bundle(bundle)
    assert check.problems == []
    root = f"thirdbook-incident-{incident_id}"
    with tarfile.open(bundle, "r:gz") as tar:
        member = tar.extractfile(f"{root}/report.md")
        assert member is not None
        report = member.read()
    import hashlib

    listed = check.manifest.files["report.md"]
    assert listed.sha256 == hashlib.sha256(report).hexdigest()  # type: ignore[attr-defined]
    assert b"# Post-incident report: incident #1" in report and AWS.encode() not in report
    assert f"report.md in the evidence bundle {bundle.name}".encode() in report
    await console.close()


async def test_a_serious_marking_shows_its_clock_on_the_banner(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("A")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "dialog")
        await pilot.press("j", "enter")  # death, then widespread: 2 days
        await wait_until(
            pilot,
            lambda: "Art. 73 report due in 1d 23h" in screen_text(app, "#incident"),
            "the clock on the banner",
        )
        svc = await service(app)
        # Another responder corrects the awareness time: the banner says it is overdue.
        long_ago = datetime.now(UTC) - timedelta(days=16)
        await svc.serious.mark(1, "other", long_ago)
        await wait_until(
            pilot,
            lambda: "Art. 73 report OVERDUE by 1d" in screen_text(app, "#incident"),
            "overdue on the banner",
        )
