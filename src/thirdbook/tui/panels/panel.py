"""A panel of the main screen: told each tick what changed in the store, it reads what it
shows only when something it depends on moved, and never paints an older read over a newer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message

from thirdbook.domain.errors import StoreClosedError
from thirdbook.tui.host import closing, services

if TYPE_CHECKING:
    from thirdbook.domain.changes import StoreMarks
    from thirdbook.domain.incidents import Incident
    from thirdbook.services.factory import Services


@dataclass(frozen=True)
class Change:
    """The store's marks at one tick and the incident the console is showing then."""

    marks: StoreMarks
    incident: Incident | None
    at: float = field(default_factory=time.monotonic)


def incident_moved(shown: Change, change: Change) -> bool:
    """Whether the active incident, or any incident's timeline, changed between the two."""
    return shown.incident != change.incident or shown.marks.timeline != change.marks.timeline


class StoreChanged(Message, bubble=False):
    """Sent to each panel when the store's marks or the active incident changed."""

    def __init__(self, change: Change, *, force: bool = False) -> None:
        super().__init__()
        self.change = change
        self.force = force


class Panel(Vertical):
    """A region that refreshes itself: `wants` says whether a change concerns it, `load`
    reads the store and paints. Loads run one at a time; changes that arrive meanwhile are
    folded into one more load of the newest."""

    def __init__(self, *, id: str, classes: str = "panel") -> None:
        super().__init__(id=id, classes=classes)
        self.shown: Change | None = None
        """The change this panel last painted."""
        self._wanted: Change | None = None
        self._force = False
        self._loading = False

    def wants(self, shown: Change, change: Change) -> bool:
        """Whether `change` holds anything this panel shows that `shown` did not."""
        return shown.marks != change.marks or shown.incident != change.incident

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        """Read the store and paint (`shown` is what was painted before, if anything)."""
        raise NotImplementedError

    def on_store_changed(self, message: StoreChanged) -> None:
        """Load again if the change concerns this panel."""
        self.offer(message.change, force=message.force)

    def offer(self, change: Change, *, force: bool = False) -> None:
        """Load `change` if it concerns this panel (or with `force`)."""
        if not force and self.shown is not None and not self.wants(self.shown, change):
            return
        self._force = self._force or force
        self._wanted = change
        if not self._loading:
            self._loading = True
            self.run_worker(self._load_wanted(), group=f"load-{self.id}")

    async def _load_wanted(self) -> None:
        try:
            while self._wanted is not None:
                change, self._wanted = self._wanted, None
                shown = None if self._force else self.shown  # forced: read it all again
                self._force = False
                svc = services(self)
                if svc is None:
                    return
                try:
                    await self.load(svc, shown, change)
                except (StoreClosedError, NoMatches):
                    # The console is closing under a load that was already on its way.
                    if not closing(self):
                        raise
                    return
                self.shown = change
        finally:
            self._loading = False

    @property
    def busy(self) -> bool:
        """Whether a load is on its way (tests wait for it to end)."""
        return self._loading
