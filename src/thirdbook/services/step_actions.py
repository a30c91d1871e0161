"""Runbook steps checked by the actions that perform them: a snapshot, the kill switch, a
rollback, a quarantine, an evidence export, a replay or an answered explanation that succeeds
checks the incident's steps naming it (`{action: ...}`, see `domain.runbooks`), recorded as
done by it. A step already checked is left alone; checking by hand stays possible."""

from __future__ import annotations

from collections.abc import Callable

from thirdbook.domain.incidents import Actor
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store


class ActionSteps:
    """Checks the steps an action performs, on the incident it was performed for."""

    def __init__(self, store: Store, runbooks: Callable[[], RunbookLibrary]) -> None:
        self.store = store
        self._runbooks = runbooks

    async def performed(self, action: str, incident_id: int, actor: Actor) -> list[str]:
        """Check the incident's unchecked steps that `action` performs; their texts."""
        incident = await self.store.incidents.get(incident_id)
        if incident is None or incident.phase == "closed":
            return []
        book = self._runbooks().get(incident.runbook)
        if book is None:
            return []
        checks = await self.store.incidents.checks(incident_id)
        done = []
        for step in book.steps:
            check = checks.get(step.step_key or "")
            if action not in step.actions or (check is not None and check.checked):
                continue
            await self.store.incidents.check_step(incident_id, step, True, actor, action)
            done.append(step.text)
        return done
