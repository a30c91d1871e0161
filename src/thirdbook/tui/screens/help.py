"""`?`: every key, what it does, and the binding id to remap it with in `thirdbook.toml`."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from thirdbook.tui.keys import key_help


class HelpScreen(ModalScreen[None]):
    """A table of every binding; esc, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 100; max-width: 100%; height: 90%; border: thick $accent;
                            background: $surface; }
    HelpScreen Static { height: auto; padding: 0 1; }
    HelpScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss(None)", "Close", id="close-help"),
        Binding("j", "down", show=False),
        Binding("k", "up", show=False),
    ]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Keys", "bold"),
                    " — remap any of them in thirdbook.toml under ",
                    ("[console.keymap]", "bold"),
                    ' by id, e.g. declare = "D". esc closes.',
                )
            )
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("where", "keys", "does", "id"):
            table.add_column(column, key=column)
        for row in key_help(self.keymap):
            table.add_row(
                Text(row.where, style="dim"),
                Text(row.keys, style="bold"),
                Text(row.description),
                Text(row.binding_id, style="dim"),
            )
        table.focus()

    def action_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()
