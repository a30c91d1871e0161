"""Runbook steps checked by the actions that perform them: `{action: ...}` markers, the
fallback on a step's first words, and the demo drill's snapshot, kill switch and rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import with_containment
from tests.test_evidence import _incident_with_log
from tests.test_kill_switch import flags_file
from tests.test_rollback import registry_file
from thirdbook.domain.runbooks import RunbookError, parse_runbook, step_actions, step_key
from thirdbook.locations import shipped_dir

FRONT = "---\ntriggers: [drift]\n---\n"


def test_a_marker_names_the_actions_and_is_not_part_of_the_step() -> None:
    book = parse_runbook(
        FRONT
        + "- [ ] Flip the kill switch, or roll back. {action: kill-switch, rollback}\n"
        + "- [ ] Roll back the data source, not the model. {action: none}\n"
        + "- [ ] Snapshot the evidence first (`s`).\n"
        + "- [ ] High blast radius: flip the kill switch (`K`).\n"
        + "- [ ] Confirm the rolled-back version is inside its band.\n",
        "x",
    )
    steps = book.steps
    assert steps[0].text == "Flip the kill switch, or roll back."
    assert steps[0].step_key == step_key("Flip the kill switch, or roll back.")  # checks kept
    assert [s.actions for s in steps] == [
        ("kill-switch", "rollback"),
        (),
        ("snapshot",),  # the fallback: its first words name the action
        ("kill-switch",),
        (),  # "rolled-back" in the middle of a step names nothing
    ]


def test_a_marker_naming_no_action_is_refused_with_the_known_ones() -> None:
    with pytest.raises(RunbookError, match=r"x\.md:4: .*known: snapshot, kill-switch, rollback"):
        parse_runbook(FRONT + "- [ ] Reboot it. {action: reboot}\n", "x")
    assert step_actions("Replay the inputs. {Action: Replay}") == (
        "Replay the inputs.",
        ("replay",),
    )


def test_the_shipped_runbooks_name_their_actions_explicitly() -> None:
    drift = (shipped_dir("runbooks") / "drift.md").read_text()
    book = parse_runbook(drift, "drift")
    named = {a for s in book.steps for a in s.actions}
    assert {"snapshot", "kill-switch", "rollback", "quarantine", "replay", "explain"} <= named
    assert "{action:" not in " ".join(s.text for s in book.steps)


async def test_the_drills_snapshot_kill_switch_and_rollback_check_their_steps(
    tmp_path: Path,
) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    (tmp_path / "reg").mkdir()
    console = with_containment(
        console, flag_file=flags_file(tmp_path), registry=registry_file(tmp_path / "reg")
    )
    incident = await console.triage.incident(incident_id)
    assert incident is not None and incident.runbook == "drift"
    book = console.triage.runbook_of(incident)
    assert book is not None
    by_action = {a: s for s in book.steps for a in s.actions}
    explain_step = by_action["explain"]
    await console.triage.check_step(incident_id, explain_step.step_key or "", True)  # by hand

    await console.containment.snapshot(incident_id)
    await console.containment.kill_switch(incident_id, "human")
    await console.containment.rollback(incident_id)
    await console.acting.performed("explain", incident_id)  # already checked: left alone

    checks = await console.triage.runbook_checks(incident_id)
    for action in ("snapshot", "kill-switch", "rollback"):
        check = checks[by_action[action].step_key or ""]
        assert check.checked and check.by_action == action and check.by
    hand = checks[explain_step.step_key or ""]
    assert hand.checked and hand.by_action is None
    assert by_action["quarantine"].step_key not in checks
    timeline = [e.detail for e in await console.triage.timeline(incident_id) if e.kind == "runbook"]
    assert f"checked by the kill switch: {by_action['kill-switch'].text}" in timeline
    assert f"checked by the snapshot: {by_action['snapshot'].text}" in timeline
    assert f"checked by the rollback: {by_action['rollback'].text}" in timeline
    assert len(timeline) == 4  # the explain step once, by hand
    audited = [r.content for r in await console.store.audit.records()]
    assert any(c["detail"].get("by_action") == "kill-switch" for c in audited)
    # Routing back to the model is recovery, not the kill switch's step; nothing twice.
    await console.containment.kill_switch(incident_id, "model")
    again = [e for e in await console.triage.timeline(incident_id) if e.kind == "runbook"]
    assert len(again) == 4
    await console.store.close()
