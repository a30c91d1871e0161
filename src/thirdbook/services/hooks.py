"""Running the hooks configured for a containment action, each result on the timeline."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from thirdbook.actuators.hooks import HookResult, run_hook
from thirdbook.config import HookAction, HookConfig
from thirdbook.domain.errors import ActionFailedError
from thirdbook.domain.incidents import Actor
from thirdbook.evidence.objects import ObjectStore
from thirdbook.store import Store


class HookService:
    """`[[containment.hooks]]`: a command or webhook also (or instead) run by an action."""

    def __init__(self, store: Store, objects: ObjectStore, hooks: list[HookConfig]) -> None:
        self.store = store
        self.objects = objects
        self.hooks = hooks

    def configured(self, action: HookAction) -> tuple[list[HookConfig], bool]:
        """The hooks configured for an action, and whether they act instead of thirdbook."""
        hooks = [h for h in self.hooks if h.action == action]
        return hooks, any(h.when == "instead" for h in hooks)

    async def run(
        self,
        incident_id: int,
        actor: Actor,
        action: HookAction,
        hooks: list[HookConfig],
        detail: dict[str, Any],
    ) -> list[HookResult]:
        """Run the action's hooks one after another, each with the incident and the action as
        JSON; each result goes on the timeline, its whole output kept as an evidence object.
        A failed hook makes the action fail (saying what was done before it)."""
        if not hooks:
            return []
        incident = await self.store.incidents.get(incident_id)
        payload = json.dumps(
            {
                "thirdbook": 1,
                "action": action,
                "detail": detail,
                "actor": actor.model_dump(),
                "incident": None if incident is None else incident.model_dump(mode="json"),
            },
            sort_keys=True,
        ).encode()
        results = []
        for hook in hooks:
            result = await run_hook(hook, payload)
            output = await asyncio.to_thread(self.objects.put_bytes, result.output)
            excerpt = result.output[:200].decode("utf-8", errors="backslashreplace").strip()
            await self.store.incidents.note(
                incident_id,
                actor,
                "hook",
                f"{action} hook ({hook.when}) {result.summary()}; output sha256:{output.sha256}"
                + (f": {excerpt}" if excerpt else ""),
            )
            results.append(result)
        failed = [r for r in results if not r.ok]
        if failed:
            done = (
                "thirdbook changed nothing itself"
                if self.configured(action)[1]
                else f"thirdbook's own {action} change stands"
            )
            raise ActionFailedError(
                f"{len(failed)} of {len(results)} {action} hooks failed "
                f"({failed[0].summary()}); {done}"
            )
        return results
