"""Glyphs for terminals whose font lacks them: the Linux console (`TERM=linux`) draws ASCII.

Its font has the box-drawing and block characters of the old PC code page (`─ │ █ ▀ ▄ ▌`)
but not the eighth blocks Textual draws tall borders and scrollbars with (`▔ ▁ ▊ ▎ ▏`), nor
the marks the console uses (`✕ ● ⭘ ✓ ✗`); those would show as blobs. On such a terminal a
line filter turns each into ASCII as the screen is drawn, so every widget (ours and
Textual's) and the drift chart read in ASCII, and the text keeps its width.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

ASCII_TERMS = frozenset({"linux", "vt100", "vt102", "vt220"})
"""Terminals (by `TERM`) whose font has no glyphs beyond the PC code page."""

ASCII_GLYPHS = {
    # The console's marks, and the drift chart's points, band edges and axis.
    "✕": "x",
    "●": "o",
    "⭘": "*",
    "✓": "+",
    "✗": "x",
    "─": "-",
    "│": "|",
    "▼": "v",
    "—": "-",
    "×": "x",
    # Textual's tall borders (inputs, lists, buttons) and the footer's key separator.
    "▔": "-",
    "▁": "-",
    "▊": "|",
    "▎": "|",
    "▏": "|",
    # The fractional ends of scrollbar thumbs: the thumb is drawn in whole cells.
    "▂": " ",
    "▃": " ",
    "▅": " ",
    "▆": " ",
    "▇": " ",
    "▉": " ",
    "▋": " ",
    "▍": " ",
    # Box corners and joins, so boxes stay whole once their lines are ASCII.
    **dict.fromkeys("┌┐└┘├┤┬┴┼╭╮╰╯", "+"),
}
"""Each glyph a Linux console cannot draw, and the ASCII drawn instead (one cell each)."""

_TABLE = str.maketrans(ASCII_GLYPHS)


def wants_ascii(term: str | None) -> bool:
    """Whether a terminal of this `TERM` should be drawn in ASCII."""
    return (term or "").strip().lower() in ASCII_TERMS


def to_ascii(text: str) -> str:
    """`text` with each glyph a Linux console lacks replaced by its ASCII stand-in."""
    return text.translate(_TABLE)


class AsciiGlyphs(LineFilter):
    """A Textual line filter drawing the glyphs in `ASCII_GLYPHS` as ASCII."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            segment if segment.control else Segment(segment.text.translate(_TABLE), segment.style)
            for segment in segments
        ]
