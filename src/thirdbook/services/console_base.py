"""What every part of the console service shares: the store, the settings, and who acts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from thirdbook.config import ContainmentConfig, Settings
from thirdbook.domain.audit import Outcome
from thirdbook.domain.incidents import Actor, Incident
from thirdbook.domain.runbooks import Runbook
from thirdbook.evidence.objects import ObjectStore
from thirdbook.services.identity import current_actor
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store
from thirdbook.store.incidents import ActionFailedError, TriageRefusedError


def need_reason(reason: str | None) -> None:
    """Refuse to show secrets without a reason (the reason is what the audit record says)."""
    if not (reason or "").strip():
        raise TriageRefusedError("showing secrets needs a reason (it is audited)")


class ConsoleBase:
    """The state the console service's parts work on (see `Console`)."""

    store: Store
    settings: Settings
    read_only: bool
    runbooks: RunbookLibrary
    containment: ContainmentConfig

    @property
    def objects(self) -> ObjectStore:
        """The evidence objects, beside the store's database."""
        return ObjectStore(self.store.path.parent / "evidence")

    def runbook_of(self, incident: Incident) -> Runbook | None:
        """The runbook an incident follows (as the files say now)."""
        return self.runbooks.get(incident.runbook)

    @contextlib.asynccontextmanager
    async def _acting(
        self, action: str, detail: dict[str, Any], incident_id: int | None = None
    ) -> AsyncIterator[Actor]:
        """Who acts (from the OS); and an audit record for an action that does not complete:
        refused (with the reason), failed, or interrupted. A completed action is audited in
        the same transaction as its change (with its timeline entry)."""
        actor = current_actor()
        outcome: Outcome = "refused"
        note: dict[str, Any] = {}
        try:
            if self.read_only:
                why = self.store.read_only_reason
                raise TriageRefusedError(
                    "this console is read-only: it can look but not act"
                    + (f" (the store cannot be written: {why})" if why else "")
                )
            yield actor
            return
        except ActionFailedError as exc:
            outcome, note = "failed", {"error": str(exc)}
            raise
        except TriageRefusedError as exc:
            note = {"reason": str(exc)}
            raise
        except Exception as exc:
            outcome, note = "failed", {"error": f"{type(exc).__name__}: {exc}"}
            raise
        except BaseException as exc:  # cancelled, or the session went away mid-action
            outcome, note = "interrupted", {"error": type(exc).__name__}
            raise
        finally:
            if note:
                with contextlib.suppress(Exception):
                    await self.store.audit.append(
                        actor, action, outcome, {**detail, **note}, incident_id
                    )
