"""The main screen as its actions see it, and the steps every action shares: run it, say why
if refused, and find what it acts on (the selected alert, the active incident)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from textual.app import App
from textual.notifications import SeverityLevel

from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.tui.panels.live import LivePanel

if TYPE_CHECKING:
    from thirdbook.domain.alerts import Alert
    from thirdbook.domain.incidents import Incident
    from thirdbook.services.factory import Services

T = TypeVar("T")


class Stage(Protocol):
    """What an action needs from the main screen."""

    @property
    def app(self) -> App[Any]:
        """The app (for dialogs)."""
        ...

    @property
    def service(self) -> Services | None:
        """The services (None until the store is open, or while closing)."""
        ...

    @property
    def incident(self) -> Incident | None:
        """The active incident."""
        ...

    @property
    def live(self) -> LivePanel:
        """The Live panel."""
        ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A message in the corner."""
        ...

    def look_again(self) -> None:
        """Read the store's marks now and refresh what changed (after an action)."""
        ...


async def act(stage: Stage, action: Awaitable[T]) -> tuple[bool, T | None]:
    """Run an action: a refusal is shown with its reason, and either way the panels look
    again. Returns whether it was done, and its result."""
    try:
        result = await action
    except Exception as exc:
        # A refusal, or the machine failing under the action (a full disk, a read-only
        # control directory): said in a sentence, and the console goes on. A bug is not
        # caught: the console stops, saying so (see `ThirdbookApp`).
        refused = isinstance(exc, TriageRefusedError)
        from thirdbook.services.failures import explain

        svc = stage.service
        why = str(exc) if refused else explain(exc, None if svc is None else svc.paths.store)
        if why is None:
            raise
        said = "Refused" if refused and not isinstance(exc, ActionFailedError) else "Failed"
        stage.notify(f"{said}: {why}", severity="error", timeout=8)
        stage.look_again()  # a failure changes things too
        return False, None
    stage.look_again()
    return True, result


def selected_alert(stage: Stage) -> Alert | None:
    """The open alert under the cursor in Live triggers, or a warning saying how to pick one."""
    alert = stage.live.highlighted_alert()
    if alert is None or alert.status != "open":
        stage.notify(
            "Select an open alert in Live triggers first (1, then j/k).", severity="warning"
        )
        return None
    return alert


def need_incident(stage: Stage) -> Incident | None:
    """The active incident, or a warning saying how to have one."""
    if stage.incident is None:
        stage.notify(
            "No active incident: declare one from an alert (d), or choose one (I).",
            severity="warning",
        )
    return stage.incident


def acting_on(stage: Stage) -> tuple[Incident, Services] | None:
    """The active incident and the services to act on it, or None (and a warning saying how
    to have an incident)."""
    incident = need_incident(stage)
    svc = stage.service
    return None if incident is None or svc is None else (incident, svc)
