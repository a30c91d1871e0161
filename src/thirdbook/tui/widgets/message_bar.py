"""The console's messages, in a bar of their own above the health line: they push the
panels up for as long as they last instead of covering them (the kill switch's "observed"
line, a runbook step), the newest two at most, each whole (a path wider than the bar folds
onto the next line rather than being cut). ctrl+l clears them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.notifications import SeverityLevel
from textual.widgets import Static

SHOWN = 2
"""How many messages show at once (the newest)."""

_MARK = {"information": "·", "warning": "!", "error": "✕"}


@dataclass(frozen=True)
class Message:
    """One message and when it goes away."""

    text: str
    severity: SeverityLevel
    until: float


class MessageBar(Static):
    """The newest messages, one or two lines each; hidden when there are none."""

    DEFAULT_CSS = """
    MessageBar { height: auto; max-height: 6; padding: 0 1; display: none;
                 background: $boost; border-top: solid $primary; }
    MessageBar.shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.messages: list[Message] = []

    def add(self, text: str, severity: SeverityLevel, timeout: float) -> None:
        """A new message (`text` already made safe), shown for `timeout` seconds."""
        self.messages.append(Message(text, severity, time.monotonic() + timeout))
        self._show()

    def clear(self) -> None:
        """Clear every message."""
        self.messages.clear()
        self._show()

    def expire(self) -> None:
        """Drop the messages whose time is up (called on the console's tick)."""
        now = time.monotonic()
        kept = [m for m in self.messages if m.until > now]
        if len(kept) != len(self.messages):
            self.messages = kept
            self._show()

    def _show(self) -> None:
        newest = self.messages[-SHOWN:][::-1]
        self.set_class(bool(newest), "shown")
        text = Text()
        for n, message in enumerate(newest):
            text.append("\n" if n else "")
            style = "bold" if message.severity != "information" else ""
            text.append(f"{_MARK[message.severity]} ", style=style)
            text.append(message.text, style=style)
        older = len(self.messages) - len(newest)
        if older:
            text.append(f"  (+{older} older; ctrl+l clears)", style="dim")
        self.update(text)  # words wrap at spaces; only a token wider than the bar folds
