"""Updating a one-line Static cheaply: only when its text changed, and without a layout.

`Static.update` asks for a layout by default, and a layout redraws the whole screen; the
banner, the health line and the panel titles change several times a second while never
changing size, so they skip it (and skip redrawing the same text).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def show_line(line: Static, text: Text) -> None:
    """Show `text` on a fixed-size line, if it differs from what is there. What does not fit
    ends in an ellipsis (a wrapped second line would be hidden, cut without a sign)."""
    if line.styles.text_wrap != "nowrap":
        line.styles.text_wrap = "nowrap"
        line.styles.text_overflow = "ellipsis"
    current = line.content
    if isinstance(current, Text) and current.plain == text.plain and current.spans == text.spans:
        return
    line.update(text, layout=False)
