"""Text that wraps only between tokens: a word, a hash or a short bracketed group such as
`(+0.1 s)` or `[0.85, +inf]` is never split across lines.

Textual folds a word longer than the line onto the next one, so a hash could end up split
with its tail alone below, and a group with a space inside breaks at that space. Here a
line breaks only at a space outside a short group, and a token longer than the whole line
is shown alone on its line, cut with an ellipsis (the full value is in the CLI and the
export), never continued on the next.
"""

from __future__ import annotations

import itertools
import re

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

GROUP_CELLS = 24
"""A bracketed group up to this long (brackets excluded) is kept on one line."""
_GROUP = re.compile(rf"\([^()\n]{{0,{GROUP_CELLS}}}\)|\[[^\[\]\n]{{0,{GROUP_CELLS}}}\]")
_WORD_START = re.compile(r"(?<=\s)\S")


def break_points(plain: str) -> list[int]:
    """Where a line may break: before a word that follows a space, outside short groups."""
    inside: set[int] = set()
    for group in _GROUP.finditer(plain):
        inside.update(range(group.start() + 1, group.end()))
    return [m.start() for m in _WORD_START.finditer(plain) if m.start() not in inside]


def line_breaks(plain: str, width: int) -> list[int]:
    """Offsets to divide one line (no newline in it) at, so each piece fits `width`, or is
    one token alone that does not fit anywhere (it is cut, not continued)."""
    bounds = [0, *break_points(plain), len(plain)]
    offsets: list[int] = []
    used = 0
    for start, end in itertools.pairwise(bounds):
        word = plain[start:end]
        if used and used + cell_len(word.rstrip()) > width:
            offsets.append(start)
            used = 0
        used += cell_len(word)
    return offsets


def lay_out(content: Content, width: int) -> list[Content]:
    """The lines `content` shows at `width`: broken between tokens, each within `width`."""
    lines: list[Content] = []
    for line in content.split("\n", allow_blank=True):
        for piece in line.divide(line_breaks(line.plain, max(1, width))):
            piece = piece.rstrip()
            lines.append(
                piece.truncate(width, ellipsis=True) if piece.cell_length > width else piece
            )
    return lines


class Unbroken(Visual):
    """A `Static`'s content that never splits a token across lines (see the module)."""

    def __init__(self, text: Text | Content) -> None:
        self.content = Content.from_rich_text(text) if isinstance(text, Text) else text
        self._laid_out: tuple[int, Content] | None = None

    def __str__(self) -> str:
        return self.content.plain

    @property
    def plain(self) -> str:
        """The text, without styles."""
        return self.content.plain

    def at(self, width: int) -> Content:
        """The content with its line breaks for `width` in place."""
        if self._laid_out is None or self._laid_out[0] != width:
            self._laid_out = (width, Content("\n").join(lay_out(self.content, width)))
        return self._laid_out[1]

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self.at(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.at(width).get_height(rules, width)
