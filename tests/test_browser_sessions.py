"""A console that `thirdbook serve` starts for a browser: its actions are the serving OS
user's with the origin "browser from HOST:PORT", on the timeline and in the audit chain;
without --allow-actions every action is refused, saying the browser session is read-only,
and the refusal itself is audited."""

from __future__ import annotations

import os
import pwd
from datetime import UTC, datetime

import pytest

from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.services.factory import Services, build_services
from thirdbook.services.identity import browser_session
from thirdbook.store import Store

ADDRESS = "127.0.0.1:51234"


async def _alert(store: Store) -> int:
    firing = Firing(
        rule="r",
        kind="drift",
        key="credit-scorer v7",
        event_ids=(),
        at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        summary="accuracy drift",
    )
    return (await store.alerts.record(firing)).id


async def _declare(services: Services, alert_id: int) -> int:
    incident = await services.triage.declare(
        [alert_id], title="drift on credit-scorer", severity="SEV2", blast_radius="medium"
    )
    return incident.id


async def test_a_browser_sessions_actions_are_the_serving_users_from_the_browser(
    store: Store,
) -> None:
    services = build_services(store, session=browser_session(ADDRESS, allow_actions=True))
    incident_id = await _declare(services, await _alert(store))
    await services.triage.add_note(incident_id, "seen from the browser")
    user = pwd.getpwuid(os.getuid()).pw_name
    entries = await services.triage.timeline(incident_id)
    assert entries and {e.actor.origin for e in entries} == {f"browser from {ADDRESS}"}
    assert {(e.actor.user, e.actor.uid) for e in entries} == {(user, os.getuid())}
    records = await services.queries.audit_records(incident_id)
    actors = {(r.content["actor"]["user"], r.content["actor"]["origin"]) for r in records}
    assert actors == {(user, f"browser from {ADDRESS}")}


async def test_a_terminal_session_keeps_its_own_origin(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.9 40000 192.0.2.1 22")
    services = build_services(store)
    incident_id = await _declare(services, await _alert(store))
    entries = await services.triage.timeline(incident_id)
    assert {e.actor.origin for e in entries} == {"ssh from 192.0.2.9:40000"}


async def test_a_read_only_browser_session_refuses_every_action_saying_why(
    store: Store,
) -> None:
    alert_id = await _alert(store)
    services = build_services(
        store, read_only=True, session=browser_session(ADDRESS, allow_actions=False)
    )
    assert services.read_only
    with pytest.raises(TriageRefusedError) as refused:
        await _declare(services, alert_id)
    assert str(refused.value).startswith("this browser session is read-only")
    assert "--allow-actions" in str(refused.value)
    assert await services.triage.incidents() == []
    records = await services.queries.audit_records()
    assert [r.content["outcome"] for r in records] == ["refused"]
    assert records[0].content["actor"]["origin"] == f"browser from {ADDRESS}"
