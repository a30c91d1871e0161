"""Who acts, and what the audit chain says about an action that does not complete; shared by
every service that changes something."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

from thirdbook.domain.audit import Outcome
from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.services.identity import TERMINAL, Session, current_actor
from thirdbook.store import Store


def need_reason(reason: str | None) -> None:
    """Refuse to show secrets without a reason (the reason is what the audit record says)."""
    if not (reason or "").strip():
        raise TriageRefusedError("showing secrets needs a reason (it is audited)")


class Acting:
    """The acting side of one process: the OS user it acts as (with its session's origin),
    the refusal when it may only look, and the audit record of an action refused, failed or
    interrupted."""

    def __init__(
        self,
        store: Store,
        *,
        read_only: bool,
        actor: Callable[[], Actor] | None = None,
        session: Session = TERMINAL,
    ) -> None:
        self.store = store
        self.session = session
        self.read_only = read_only or store.read_only_reason is not None
        self._actor = actor or partial(current_actor, session)
        self.on_performed: Callable[[str, int, Actor], Awaitable[object]] | None = None
        """Told of each action that succeeded for an incident (the runbook steps it checks)."""

    @contextlib.asynccontextmanager
    async def act(
        self, action: str, detail: dict[str, Any], incident_id: int | None = None
    ) -> AsyncIterator[Actor]:
        """Who acts (from the OS); and an audit record for an action that does not complete:
        refused (with the reason), failed, or interrupted. A completed action is audited in
        the same transaction as its change (with its timeline entry)."""
        actor = self._actor()
        outcome: Outcome = "refused"
        note: dict[str, Any] = {}
        try:
            if self.read_only:
                raise TriageRefusedError(self.refusal())
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

    def refusal(self) -> str:
        """Why this process may not act, in a sentence (when it is read-only)."""
        why = self.store.read_only_reason
        if why is None and self.session.read_only_why is not None:
            return f"{self.session.read_only_why}: it can look but not act"
        return "this console is read-only: it can look but not act" + (
            f" (the store cannot be written: {why})" if why else ""
        )

    async def performed(self, action: str, incident_id: int, actor: Actor | None = None) -> None:
        """An action succeeded for an incident: the runbook steps it performs are checked
        (by `actor`, else this process's user). Never fails the action, which is done and
        recorded already; a read-only console checks nothing."""
        if self.on_performed is not None and not self.read_only:
            with contextlib.suppress(Exception):
                await self.on_performed(action, incident_id, actor or self._actor())

    async def done(
        self, actor: Actor, action: str, detail: dict[str, Any], incident_id: int | None = None
    ) -> None:
        """Audit an action that changes nothing in the store but is kept (showing secrets)."""
        await self.store.audit.append(actor, action, "done", detail, incident_id)
