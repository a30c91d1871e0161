"""How every list command prints its records, by one rule.

On a terminal, a table that fits the window: long values are cut (`…(+N chars)`) or folded
over lines, as the column says. Piped or redirected, one record a line with every value
whole and never wrapped, so `thirdbook events --subject X | grep X` finds it; the first line
names the columns. With `--json`, one JSON object a line (`terminal_json`: standard JSON,
everything outside printable ASCII escaped). Either way, every value passes through
`visible` (secrets masked, control and bidi characters shown as escapes), and a list with no
records says so on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.strict_json import loads_strict
from thirdbook.domain.text import terminal_json, visible

F = TypeVar("F", bound=Callable[..., Any])

_GAP = "  "
_ALIGN_AT_MOST = 48
"""Piped, a column is padded to its longest value up to this many cells; a longer value is
written whole and only its own line goes out of step."""


@dataclass(frozen=True)
class Column:
    """One column: its heading and how its values are shown on a terminal (piped, every
    value is whole)."""

    heading: str
    limit: int | None = None
    """On a terminal, cut a value to about this many characters (`…(+N chars)` says so)."""
    fold: bool = False
    """On a terminal, fold a long value over lines (free text) rather than keep it on one."""
    right: bool = False
    """Right-aligned (counts)."""
    abbreviate: int | None = None
    """On a terminal, show only the first this many characters (a hash, as git shows it)."""


def to_terminal() -> bool:
    """Whether standard output is a terminal (a person), not a pipe or a file (a script)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def json_option(function: F) -> F:
    """The `--json` flag every list command has (its value is `as_json`)."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="One JSON object a line instead of a table (standard JSON, ASCII only).",
    )(function)


def echo_json(records: Iterable[Mapping[str, Any]], *, empty: str | None = None) -> None:
    """Each record as one line of standard, terminal-safe JSON; `empty` on stderr if none."""
    printed = 0
    for record in records:
        click.echo(terminal_json(dict(record)))
        printed += 1
    if not printed and empty:
        click.echo(empty, err=True)


def show_rows(
    columns: Sequence[Column],
    rows: Iterable[Sequence[str]],
    *,
    empty: str | None = None,
    whole: bool = False,
    reveal: bool = False,
    indent: int = 0,
) -> None:
    """Print `rows` (untrusted text welcome) under `columns`: a table on a terminal, one
    record a line otherwise. `whole`: no value is cut on a terminal either; `reveal`:
    secrets are left unmasked (an audited choice of the caller); `empty` goes to stderr
    when there are no rows."""
    terminal = to_terminal()
    cells = [
        [
            _cell(column, value, terminal=terminal, whole=whole, reveal=reveal)
            for column, value in zip(columns, row, strict=True)
        ]
        for row in rows
    ]
    if not cells:
        if empty:
            click.echo(empty, err=True)
        return
    if terminal:
        _table(columns, cells, indent)
    else:
        for line in _lines(columns, cells):
            click.echo(" " * indent + line)


def _cell(column: Column, value: str, *, terminal: bool, whole: bool, reveal: bool) -> str:
    if terminal and not whole and column.abbreviate is not None:
        value = value[: column.abbreviate]
    limit = None if whole or not terminal else column.limit
    return visible(value, limit, reveal=reveal)


def _lines(columns: Sequence[Column], cells: list[list[str]]) -> Iterable[str]:
    from rich.cells import cell_len

    table = [[column.heading for column in columns], *cells]
    widths = [
        min(_ALIGN_AT_MOST, max(cell_len(row[i]) for row in table)) for i in range(len(columns))
    ]
    last = len(columns) - 1
    for row in table:
        parts = []
        for i, (column, text) in enumerate(zip(columns, row, strict=True)):
            pad = " " * max(0, widths[i] - cell_len(text))
            if column.right:
                parts.append(pad + text)
            else:
                parts.append(text if i == last else text + pad)
        line = _GAP.join(parts)
        yield line.rstrip(" ") if row[last] == "" else line


def _table(columns: Sequence[Column], cells: list[list[str]], indent: int) -> None:
    from rich.console import Console
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    for column in columns:
        table.add_column(
            column.heading,
            no_wrap=not column.fold,
            overflow="fold",
            justify="right" if column.right else "left",
        )
    for row in cells:
        table.add_row(*(Text(text) for text in row))
    console = Console(highlight=False, markup=False, emoji=False)
    console.print(Padding(table, (0, 0, 0, indent)) if indent else table)


def event_body(raw: bytes, reveal: bool = False) -> Any:
    """An event's stored bytes as `--json` prints them: its JSON (secrets masked unless
    revealed), or the text itself where it no longer reads strictly (a NaN or an
    overflowing number an older version let in stays in the text)."""
    text = raw.decode("utf-8", errors="replace")
    text = text if reveal else mask_secrets(text)
    try:
        return loads_strict(text)
    except (ValueError, RecursionError):
        return text


def event_cells(event: Any) -> tuple[str, ...]:
    """An event's time, kind, model, route, request and subject cells (a stored event, a
    quick read's row or one read from the log)."""
    return (
        f"{event.ts:%m-%d %H:%M:%S}",
        event.kind,
        " ".join(p for p in (event.model_name, event.model_version) if p),
        event.route or "",
        event.request_id or "",
        event.subject or "",
    )
