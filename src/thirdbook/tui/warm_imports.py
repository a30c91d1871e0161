"""What the console imports once its first page of events shows: the screens and dialogs its
keys open, which its first frame does without (they are imported where they are opened).
One module a tick, so keys are answered meanwhile; the first press of a key that opens one
then finds it ready."""

from __future__ import annotations

import contextlib
import importlib
import sys

from textual.app import App

LATER: tuple[str, ...] = (
    "thirdbook.tui.screens.explain",
    "thirdbook.tui.screens.reveal",
    "thirdbook.tui.dialogs.triage",
    "thirdbook.tui.dialogs.choices",
    "thirdbook.tui.dialogs.phase",
    "thirdbook.tui.dialogs.action_item",
    "thirdbook.tui.dialogs.kill_switch",
    "thirdbook.tui.dialogs.note",
    "thirdbook.tui.dialogs.handover",
    "thirdbook.tui.editor",
    "thirdbook.tui.screens.help",
    "thirdbook.tui.screens.incidents",
    "thirdbook.tui.screens.explorer",
    "thirdbook.tui.screens.forensics",
    "thirdbook.tui.screens.forensics_diff",
    "thirdbook.tui.screens.replay",
    "thirdbook.tui.screens.recover",
    "thirdbook.tui.screens.review",
    "thirdbook.tui.screens.registry",
    "thirdbook.tui.screens.calibration",
    "textual.widgets.markdown",
    "markdown_it",
)
TICK_S = 0.02


class WarmImports:
    """Imports `modules` one a tick on `app`'s loop, once started."""

    def __init__(self, app: App[None], modules: tuple[str, ...] = LATER) -> None:
        self._app = app
        self._left = [m for m in modules if m not in sys.modules]
        self.started = False

    def start(self) -> None:
        """Begin (once)."""
        if not self.started:
            self.started = True
            self._app.set_timer(TICK_S, self._next)

    @property
    def done(self) -> bool:
        """Whether every module is imported."""
        return self.started and not self._left

    def _next(self) -> None:
        while self._left:
            module = self._left.pop(0)
            if module not in sys.modules:
                # Only a head start: a module that cannot be imported is left to the key that
                # opens it, which says what went wrong where the commander asked for it.
                with contextlib.suppress(Exception):
                    importlib.import_module(module)
                break
        if self._left:
            self._app.set_timer(TICK_S, self._next)
