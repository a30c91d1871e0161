"""Markdown that untrusted text cannot break: every value from the store is masked, made
visible (no control characters, one line) and escaped before it is written, so a log line
can add no heading, link, image, HTML or table cell to a report."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from thirdbook.domain.text import visible

TO_COMPLETE = "*to complete*"
"""What a field the store cannot fill says."""

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~&])")
_LEADING = re.compile(r"^(\d+)([.)])|^([-+=])")
_LIMIT = 2000  # characters of one untrusted value in a report


def md(text: object, limit: int = _LIMIT) -> str:
    """Untrusted text as inert Markdown: secrets masked, controls made visible (so it stays
    on one line), every character Markdown or HTML could read backslash-escaped."""
    shown = _SPECIAL.sub(r"\\\1", visible(str(text), limit))
    # A value that starts like a list item or a setext underline would start a block.
    return _LEADING.sub(lambda m: (m[1] or "") + "\\" + (m[2] or m[3]), shown, count=1)


def code(text: object) -> str:
    """A hash or an identifier as inline code (backticks removed, so it cannot close)."""
    shown = visible(str(text), 200).replace("`", "'")
    return f"`{shown}`" if shown else TO_COMPLETE


def when(at: datetime | None) -> str:
    """A time as the report writes it (UTC, to the second)."""
    return TO_COMPLETE if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def or_complete(value: str | None) -> str:
    """A value, or "to complete" when there is none."""
    return TO_COMPLETE if value is None or not value.strip() else md(value)


def heading(level: int, text: str) -> list[str]:
    """A heading (its text written by us, never untrusted) with blank lines around."""
    return ["#" * level + " " + text, ""]


def bullets(items: Iterable[str]) -> list[str]:
    """A bullet list (each item already safe), and the blank line after it."""
    lines = [f"- {item}" for item in items]
    return [*lines, ""] if lines else []


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A table (cells already safe: `md` escapes `|`), and the blank line after it."""
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return [*lines, ""]


def fields(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """A two-column field/value table (the regulatory sections)."""
    return table(("Field", "Value"), ([name, value] for name, value in pairs))


def fenced(lines: Iterable[str], info: str = "") -> list[str]:
    """Untrusted lines in a fenced code block: masked and made visible line by line, under
    a fence longer than any run of backticks inside (so nothing can close it early)."""
    shown = [visible(line, 500) for line in lines]
    longest = max((len(run) for line in shown for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *shown, fence, ""]
