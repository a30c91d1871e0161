"""Runbooks: the file format, the library (yours over shipped), and checks on the timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from thirdbook.cli import main
from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.runbooks import (
    Runbook,
    RunbookError,
    choose_for,
    choose_runbook,
    parse_runbook,
    step_key,
)
from thirdbook.locations import shipped_dir
from thirdbook.services.factory import Services, build_services
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store

BOOK = """---
title: Drift
triggers: [drift, feedback]
---
# Drift
First line of prose
continues here.

- [ ] Look at the chart.
- [x] Roll back.
"""


def test_front_matter_steps_and_paragraphs() -> None:
    book = parse_runbook(BOOK, "drift")
    assert book.title == "Drift"
    assert book.triggers == ("drift", "feedback")
    assert [(line.kind, line.text) for line in book.lines] == [
        ("heading", "Drift"),
        ("text", "First line of prose continues here."),
        ("step", "Look at the chart."),
        ("step", "Roll back."),  # a check mark in the file is only a template
    ]
    assert book.steps[0].step_key == step_key("Look at  the chart.")  # whitespace-insensitive


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("# no front matter\n- [ ] a\n", "no front matter"),
        ("---\ntriggers: [drift]\n", "never closed"),
        ("---\ntitle: x\n---\n- [ ] a\n", "needs 'triggers"),
        ("---\ntriggers: [weather]\n---\n- [ ] a\n", "unknown trigger kind(s) weather"),
        ("---\ntriggers: [drift]\n---\n# only prose\n", "no steps"),
        ("---\ntriggers [drift]\n---\n- [ ] a\n", "key: value"),
        ("---\ntriggers: [drift]\nmatch: [model=v7]\n---\n- [ ] a\n", "not 'model=v7'"),
        ("---\ntriggers: [drift]\nmatch: [key]\n---\n- [ ] a\n", "'field=pattern'"),
        ("---\ntriggers: [drift]\nmatch: [key=]\n---\n- [ ] a\n", "one of rule, key"),
    ],
)
def test_bad_runbooks_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(RunbookError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_runbook(text, "bad")


def test_shipped_runbooks_cover_every_trigger_kind_and_the_general_case() -> None:
    library = RunbookLibrary(Path("/nonexistent"), shipped_dir("runbooks"))
    assert library.problems == []
    for kind in ("drift", "feedback", "unexplainable", "agent_lane"):
        chosen = library.choose([kind])
        assert chosen is not None and kind in chosen.triggers
    general = library.choose(["something-else"])
    assert general is not None and general.name == "general"
    assert all(len(book.steps) >= 5 for book in library.runbooks)


def test_choose_prefers_the_first_kind_with_a_runbook() -> None:
    drift = parse_runbook(BOOK, "drift")
    lane = parse_runbook(BOOK.replace("[drift, feedback]", "[agent_lane]"), "lane")
    assert choose_runbook([drift, lane], ["agent_lane", "drift"]) == lane
    assert choose_runbook([drift, lane], ["unexplainable"]) is None


def _book(name: str, triggers: str, match: str | None = None) -> Runbook:
    head = f"---\ntriggers: [{triggers}]\n" + ("" if match is None else f"match: {match}\n")
    return parse_runbook(f"{head}---\n- [ ] Do the thing.\n", name)


def _firing(kind: str, rule: str, key: str) -> Firing:
    return Firing(
        rule=rule,
        kind=kind,  # type: ignore[arg-type]
        key=key,
        event_ids=(1,),
        at=datetime.now(UTC),
        summary="s",
    )


def test_the_most_specific_runbook_wins_and_kind_is_the_fallback() -> None:
    books = [
        _book("a-by-kind", "feedback"),
        _book("b-service", "feedback", "[key=credit-decision *]"),
        _book("c-service-declines", "feedback", "[key=credit-decision wrong_decline]"),
        _book("d-rule-and-key", "feedback", "[rule=wrong declines, key=credit-d*, key=loans *]"),
        _book("e-anything-upstream", "any", "[rule=upstream *]"),
        _book("z-general", "any"),
    ]
    assert [c.field for c in books[3].match] == ["rule", "key", "key"]

    def chosen(*alerts: Firing | str) -> tuple[str, str] | None:
        choice = choose_for(books, alerts)
        return None if choice is None else (choice.runbook.name, choice.how)

    service = _firing("feedback", "wrong declines", "credit-decision wrong_decline")
    # Two fields beat one; of one field, the longer pattern beats the shorter.
    assert chosen(service) == ("d-rule-and-key", "match")
    assert chosen(_firing("feedback", "many complaints", "credit-decision wrong_decline")) == (
        "c-service-declines",
        "match",
    )
    assert chosen(_firing("feedback", "many complaints", "credit-decision slow")) == (
        "b-service",
        "match",
    )
    # Conditions on one field are alternatives: `loans *` alone holds for the key.
    assert chosen(_firing("feedback", "wrong declines", "loans late")) == (
        "d-rule-and-key",
        "match",
    )
    # A match that does not hold is no fallback: the kind's runbook is.
    model = _firing("feedback", "wrong declines", "credit-scorer wrong_decline")
    assert chosen(model) == ("a-by-kind", "kind")
    assert chosen("feedback") == ("a-by-kind", "kind")  # a bare kind matches no `match`
    # A `match` under `any` fits every kind; a kind nobody names gets the general runbook.
    assert chosen(_firing("drift", "upstream accuracy", "m v1")) == ("e-anything-upstream", "match")
    assert chosen(_firing("drift", "accuracy", "m v1")) == ("z-general", "general")
    # The first alert with a runbook decides, however specific a later one's is.
    assert chosen(model, service) == ("a-by-kind", "kind")
    assert chosen(_firing("drift", "accuracy", "m v1"), service) == ("d-rule-and-key", "match")
    choice = choose_for(books, [service])
    assert choice is not None and choice.matched == (
        "rule=wrong declines",
        "key=credit-d*",
    )


def test_nothing_matched_and_no_general_runbook_is_no_runbook() -> None:
    books = [
        _book("service", "feedback", "[key=credit-decision *]"),
        _book("lane", "agent_lane"),
    ]
    feedback = _firing("feedback", "wrong declines", "credit-scorer wrong_decline")
    assert choose_for(books, [feedback]) is None
    assert choose_runbook(books, [_firing("drift", "accuracy", "m v1")]) is None
    assert choose_runbook(books, []) is None


def test_your_runbook_replaces_a_shipped_one_and_a_bad_file_is_reported(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "drift.md").write_text(BOOK.replace("title: Drift", "title: Our drift"))
    (own / "broken.md").write_text("no front matter")
    library = RunbookLibrary(own, shipped_dir("runbooks"))
    drift = library.get("drift")
    assert drift is not None and drift.title == "Our drift"
    assert len(library.problems) == 1 and "broken.md" in library.problems[0]
    assert library.get("general") is not None  # the shipped ones are still there


def test_editing_a_shipped_runbook_copies_it_to_your_directory(tmp_path: Path) -> None:
    library = RunbookLibrary(tmp_path / "own", shipped_dir("runbooks"))
    path = library.editable_path("drift")
    assert path == tmp_path / "own" / "drift.md"
    assert path.read_text() == (shipped_dir("runbooks") / "drift.md").read_text()
    path.write_text(path.read_text() + "- [ ] A step we learned today.\n")
    library.reload()
    drift = library.get("drift")
    assert drift is not None and drift.steps[-1].text == "A step we learned today."


async def _incident(store: Store, kind: str = "drift") -> tuple[Services, int]:
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind=kind,
            key="credit-scorer v7",
            event_ids=(1,),  # type: ignore[arg-type]
            at=datetime.now(UTC),
            summary="s",
        )
    )
    runbooks = RunbookLibrary(Path("/nonexistent"), shipped_dir("runbooks"))
    console = build_services(store, runbooks=runbooks)
    incident = await console.triage.declare(
        [alert.id], title="t", severity="SEV2", blast_radius="medium"
    )
    return console, incident.id


async def test_declared_incident_follows_its_kinds_runbook_and_checks_go_on_the_timeline(
    store: Store,
) -> None:
    console, incident_id = await _incident(store, "agent_lane")
    incident = await console.triage.incident(incident_id)
    assert incident is not None and incident.runbook == "agent-lane"
    book = console.triage.runbook_of(incident)
    assert book is not None
    first = book.steps[0]
    await console.triage.check_step(incident_id, first.step_key or "", True)
    await console.triage.check_step(incident_id, first.step_key or "", False)
    checks = await console.triage.runbook_checks(incident_id)
    assert checks[first.step_key or ""].checked is False
    entries = [(e.kind, e.detail) for e in await console.triage.timeline(incident_id)]
    assert ("runbook", f"checked: {first.text}") in entries
    assert ("runbook", f"unchecked: {first.text}") in entries
    with pytest.raises(TriageRefusedError, match="no such step"):
        await console.triage.check_step(incident_id, "not-a-step", True)


async def test_phases_move_on_the_timeline_and_closed_is_final(store: Store) -> None:
    console, incident_id = await _incident(store)
    await console.triage.set_phase(incident_id, "contained")
    with pytest.raises(TriageRefusedError, match="already contained"):
        await console.triage.set_phase(incident_id, "contained")
    await console.triage.set_phase(incident_id, "closed")
    with pytest.raises(TriageRefusedError, match="is closed"):
        await console.triage.set_phase(incident_id, "investigating")
    with pytest.raises(TriageRefusedError, match="not a phase"):
        await console.triage.set_phase(incident_id, "panicking")
    details = [e.detail for e in await console.triage.timeline(incident_id) if e.kind == "phase"]
    assert details == ["detected → contained", "contained → closed"]


async def test_read_only_console_cannot_check_a_step(store: Store) -> None:
    console, incident_id = await _incident(store)
    viewer = build_services(store, read_only=True, runbooks=console.triage.runbooks)
    incident = await viewer.triage.incident(incident_id)
    assert incident is not None
    book = viewer.triage.runbook_of(incident)
    assert book is not None
    with pytest.raises(TriageRefusedError, match="read-only"):
        await viewer.triage.check_step(incident_id, book.steps[0].step_key or "", True)


def test_the_command_line_says_which_runbook_an_alert_is_offered_and_why(tmp_path: Path) -> None:
    config = tmp_path / "thirdbook.toml"
    config.write_text(
        '[[triggers.drift]]\nname = "acc band"\nmodel = "credit-scorer"\nmetric = "acc"\n'
        "low = 0.5\nconsecutive = 1\n"
    )
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "v7.md").write_text(
        "---\ntitle: v7 again\ntriggers: [drift]\nmatch: [key=* v7]\n---\n- [ ] Roll back.\n"
    )
    log = tmp_path / "signals.jsonl"
    model = '{"name": "credit-scorer", "version": "v%s", "weights_hash": "sha256:7"}'
    log.write_text(
        "".join(
            f'{{"v": 1, "kind": "metric", "ts": "2026-11-27T10:00:0{n}+00:00", '
            f'"model": {model % n}, "metric": "acc", "value": 0.1}}\n'
            for n in (6, 7)
        )
    )

    def run(*args: str) -> tuple[int, str]:
        options = ["--data-dir", str(tmp_path / "data"), "--config", str(config)]
        done = CliRunner().invoke(main, [*options, *args], env={"COLUMNS": "200"})
        return done.exit_code, done.output

    assert run("ingest", "--once", str(log))[0] == 0
    code, text = run("runbooks", "--alert", "2")
    assert (code, text.strip()) == (0, "alert #2: v7 (v7 again), it matches key=* v7"), text
    code, text = run("runbooks", "--alert", "1", "--json")
    assert code == 0 and json.loads(text) == {
        "alert": 1,
        "name": "drift",
        "title": "Model drift",
        "how": "kind",
        "matched": [],
    }
    code, text = run("runbooks", "--alert", "9")
    assert code == 1 and "there is no alert #9" in text
    code, text = run("runbooks")
    [line] = [line for line in text.splitlines() if line.startswith("v7 ")]
    assert "key=* v7" in line
