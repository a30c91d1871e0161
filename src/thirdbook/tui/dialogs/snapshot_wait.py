"""A containment dialog opened while a snapshot is still being taken: it says so, keeps the
keys typed meanwhile, and offers its choices when the snapshot ends, applying those keys in
order (the dialog itself reads them, so none is lost however slow the machine); keys after
the one that closed it go to the screen under it. If the snapshot fails, the keys are
dropped (they were typed for a dialog that needed no override reason) and it asks for one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from rich.text import Text
from textual import events
from textual.screen import ModalScreen
from textual.widgets import Static

R = TypeVar("R")

SnapshotWait = Callable[[], Awaitable[bool]]
"""Waits for the running snapshot to end; True if the incident then has a complete one."""


class WaitsForSnapshot(ModalScreen[R], Generic[R]):
    """A dialog whose choices depend on whether the incident has a complete snapshot."""

    def __init__(self, snapshot_complete: bool, wait: SnapshotWait | None = None) -> None:
        super().__init__()
        self.snapshot_complete = snapshot_complete
        self.waiting = wait is not None
        self._wait = wait
        self._typed: list[events.Key] = []

    def waiting_note(self) -> Static:
        """The line that says the dialog waits (composed by the dialog where it belongs)."""
        text = Text("A snapshot is being taken: the choices open when it completes.")
        text.stylize("bold")
        return Static(text, id="waiting", classes="" if self.waiting else "hidden")

    def on_mount(self) -> None:
        if self._wait is not None:
            self.run_worker(self._until_snapshot_ends(self._wait), group="snapshot-wait")

    async def _until_snapshot_ends(self, wait: SnapshotWait) -> None:
        complete = await wait()
        self.snapshot_complete, self.waiting = complete, False
        await self.recompose()
        self.focus_next()
        typed, self._typed = self._typed, []
        if not complete:
            self.notify(
                "The snapshot did not complete: the keys typed meanwhile were dropped. Give an "
                "override reason, or esc and snapshot again (s).",
                severity="warning",
                timeout=10,
            )
            return
        for n, key in enumerate(typed):
            if self.apply_kept(key):  # closed (the screen is popped at once): the rest go on
                for later in typed[n + 1 :]:
                    self.app.post_message(events.Key(later.key, later.character))
                return

    def apply_kept(self, key: events.Key) -> bool:
        """Apply one key typed while waiting; True if it closed the dialog."""
        raise NotImplementedError

    def on_key(self, event: events.Key) -> None:
        """While waiting: keep the keys for the choices (esc still cancels)."""
        if self.waiting and event.key != "escape":
            self._typed.append(event)
            event.stop()
            event.prevent_default()
