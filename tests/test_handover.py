"""Incident roles: the commander hands over, a scribe and communications are given, each
with who gave it and when; from the service, the command line and the console."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.test_cli import run
from tests.test_console_flows import incident_console, screen_text, wait_until
from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Incident
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store

AT = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
ME = pwd.getpwuid(os.getuid()).pw_name


async def declared(store: Store) -> tuple[Services, Incident]:
    """A console's services and an incident it declared from one alert."""
    firing = Firing(rule="acc", kind="drift", key="v7", event_ids=(1,), at=AT, summary="acc!")
    alert = await store.alerts.record(firing)
    console = build_services(store)
    incident = await console.triage.declare(
        [alert.id], title="v7 declines", severity="SEV2", blast_radius="high"
    )
    return console, incident


async def test_the_declarer_is_commander_until_a_handover(store: Store) -> None:
    console, incident = await declared(store)
    roles = await console.triage.roles(incident.id)
    assert list(roles) == ["commander"]
    assert roles["commander"].user == ME and roles["commander"].declared
    assert roles["commander"].at == incident.declared_at


async def test_handover_twice_lists_who_and_when_and_goes_on_the_timeline(store: Store) -> None:
    console, incident = await declared(store)
    first = await console.triage.handover(incident.id, "bob")
    await console.triage.handover(incident.id, "carol", role="scribe")
    second = await console.triage.handover(incident.id, " dave ")
    roles = await console.triage.roles(incident.id)
    assert list(roles) == ["commander", "scribe"]
    commander = roles["commander"]
    assert (commander.user, commander.by_user, commander.declared) == ("dave", ME, False)
    assert commander.at == second.at and second.at >= first.at
    assert (roles["scribe"].user, roles["scribe"].by_user) == ("carol", ME)
    handovers = [e for e in await console.triage.timeline(incident.id) if e.kind == "handover"]
    assert [e.detail for e in handovers] == [
        f"commander: {ME} -> bob (handed over by {ME})",
        f"scribe: carol (assigned by {ME})",
        f"commander: bob -> dave (handed over by {ME})",
    ]
    assert all(e.actor.user == ME for e in handovers)
    # The banner, the incident list and the report show the commander now in charge.
    now = await console.triage.incident(incident.id)
    assert now is not None and now.commander == "dave"
    audited = [r.content for r in await store.audit.for_incident(incident.id)]
    handed = [c for c in audited if c["action"] == "handover"]
    assert [(c["outcome"], c["detail"]["to"]) for c in handed] == [
        ("done", "bob"),
        ("done", "carol"),
        ("done", "dave"),
    ]


async def test_unknown_role_incident_or_holder_is_refused(store: Store) -> None:
    console, incident = await declared(store)
    with pytest.raises(TriageRefusedError, match="'janitor' is not a role"):
        await console.triage.handover(incident.id, "bob", role="janitor")
    with pytest.raises(TriageRefusedError, match="no incident #99"):
        await console.triage.handover(99, "bob")
    with pytest.raises(TriageRefusedError, match="no incident #99"):
        await console.triage.roles(99)
    with pytest.raises(TriageRefusedError, match="needs someone"):
        await console.triage.handover(incident.id, "   ")
    with pytest.raises(TriageRefusedError, match=f"{ME} is already commander"):
        await console.triage.handover(incident.id, ME)
    await console.triage.set_phase(incident.id, "closed")
    with pytest.raises(TriageRefusedError, match="is closed"):
        await console.triage.handover(incident.id, "bob")
    assert not [e for e in await console.triage.timeline(incident.id) if e.kind == "handover"]
    audited = [r.content for r in await store.audit.records()]
    assert {c["outcome"] for c in audited if c["action"] == "handover"} == {"refused"}


def test_cli_handover_and_roles(tmp_path: Path) -> None:
    async def seed() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        await declared(store)
        await store.close()

    asyncio.run(seed())
    code, text = run("roles", "1")
    assert code == 0, text
    assert "commander" in text and ME in text and "(declared the incident)" in text
    code, text = run("handover", "1", "bob")
    assert code == 0 and "commander of incident #1 is now bob" in text, text
    code, text = run("handover", "1", "carol", "--role", "scribe")
    assert code == 0 and "scribe of incident #1 is now carol" in text, text
    code, text = run("roles", "1", "--json")
    assert code == 0, text
    held = [json.loads(line) for line in text.splitlines()]
    assert [(h["role"], h["user"], h["by_user"]) for h in held] == [
        ("commander", "bob", ME),
        ("scribe", "carol", ME),
    ]
    assert all(h["at"] and not h["declared"] for h in held)
    code, text = run("timeline", "1")
    assert f"commander: {ME} -> bob (handed over by {ME})" in text
    code, text = run("handover", "1", "dave", "--role", "janitor")
    assert code == 2 and "janitor" in text
    code, text = run("handover", "9", "dave")
    assert code == 1 and "no incident #9" in text


async def test_h_hands_over_and_every_console_shows_the_new_commander(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        facts = lambda: screen_text(app, "#incident-facts")  # noqa: E731
        await pilot.press("2")  # the Incident panel
        await wait_until(pilot, lambda: f"commander {ME}" in facts(), "the declarer commands")
        await pilot.press("h")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HandoverDialog", "dialog")
        await pilot.press(*"bob", "enter")
        await wait_until(pilot, lambda: "commander bob" in facts(), "bob commands")
        banner = lambda: screen_text(app, "#incident")  # noqa: E731
        await wait_until(pilot, lambda: "· bob ·" in banner(), "the banner agrees")
        # Another console (a second responder on the bastion) gives the scribe's role.
        other = await Store.open(tmp_path / "s.db")
        try:
            await build_services(other).triage.handover(1, "carol", role="scribe")
        finally:
            await other.close()
        await wait_until(pilot, lambda: "scribe carol" in facts(), "the scribe shown")
        # Down picks the scribe's role in the dialog.
        await pilot.press("h")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HandoverDialog", "dialog")
        await pilot.press("down", *"dave", "enter")
        await wait_until(pilot, lambda: "scribe dave" in facts(), "dave the scribe")
        assert "commander bob" in facts()
