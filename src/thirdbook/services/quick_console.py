"""The console's first frame read quickly: the settings remembered for the config file and the
newest page of events as plain rows, on the stdlib `sqlite3`, without a `Context`, a `Store`
or a pydantic model (importing those, and validating the config file, costs about as much as
everything else the first frame does). The console then opens its services as it always
does, once that frame is on the screen.

None wherever a quick read cannot be made (see `services.quick_settings` and
`store.quick_reads`: a config file not validated as it is, a store with a migration to run,
one this process cannot write, none at all) and with `--demo`: the console then starts as
it always did.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from thirdbook import locations
from thirdbook.services.quick_settings import QuickSettings, quick_store
from thirdbook.store.quick_reads import EventRow

if TYPE_CHECKING:
    from thirdbook.domain.records import StoredEvent

__all__ = ["EventRow", "FirstPage", "QuickConsole", "quick_console", "stored_event"]


class FirstPage(NamedTuple):
    """The newest page of events, newest first, as `QueryService.events` pages them: its
    `next_key` is the key of the page after it (None: there is none)."""

    items: list[EventRow]
    next_key: int | None


class QuickConsole(NamedTuple):
    """What the console's first frame is drawn from."""

    settings: QuickSettings
    data_dir: Path
    config_path: Path
    store_path: Path
    first_page: FirstPage


def quick_console(
    data_dir: Path | None, config: Path | None, *, demo: bool, page_size: int
) -> QuickConsole | None:
    """The first frame's settings and newest `page_size` events, or None (see the module)."""
    if demo:
        return None
    opened = quick_store(data_dir, config, demo=False)
    if opened is None:
        return None
    reads, settings = opened
    try:
        rows = reads.events(
            kind=None,
            model=None,
            model_version=None,
            request_id=None,
            subject=None,
            limit=page_size + 1,
        )
    finally:
        reads.close()
    if rows is None:
        return None
    items = rows[:page_size]
    page = FirstPage(items, items[-1].id if len(rows) > page_size else None)
    return QuickConsole(
        settings, locations.data_dir(data_dir), locations.config_file(config), reads.path, page
    )


def stored_event(row: EventRow) -> StoredEvent:
    """The stored event a row read quickly is (its model is built when the row is opened)."""
    from thirdbook.domain.records import StoredEvent

    return StoredEvent(**row._asdict())
