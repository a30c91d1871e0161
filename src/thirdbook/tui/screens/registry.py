"""The registry's history: every alias move, newest first (what `thirdbook registry history`
prints), so "which version was serving then?" is answered from the console too."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from thirdbook.domain.control import AliasMove
from thirdbook.services.factory import Services
from thirdbook.tui import keys
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable


def move_cells(move: AliasMove) -> tuple[Text, ...]:
    """One alias move's row."""
    return (
        Text(f"{move.at.astimezone():%Y-%m-%d %H:%M:%S}"),
        safe(f"{move.model} {move.alias}", 40),
        safe(f"{move.from_version or '-'} → {move.to_version or '-'}", 30, style="bold"),
        Text(move.how, style="bold" if move.how == "rollback" else "dim"),
        safe(move.by_user or "", 20),
        Text("" if move.incident_id is None else f"#{move.incident_id}"),
        Text(move.registry_sha256[:12], style="dim"),
    )


class MoveTable(NewestFirstTable):
    """The alias moves."""

    COLUMNS = ("when", "model alias", "move", "how", "by", "incident", "registry sha256")


class RegistryScreen(Screen[None]):
    """Every alias move thirdbook has seen or made; esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.REGISTRY]

    def __init__(self, service: Services) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="registry-title", classes="title")
        yield MoveTable(id="registry-moves")
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_refresh()
        self.query_one(MoveTable).focus()

    async def action_refresh(self) -> None:
        """Look at the registry file again and show the moves."""
        moves = await self.service.registry.moves()
        # Keys grow with time: the table puts the highest first.
        self.query_one(MoveTable).show_rows(
            {len(moves) - n: move_cells(m) for n, m in enumerate(moves)}
        )
        self.query_one("#registry-title", Static).update(
            Text(
                f"Registry history — {len(moves)} alias moves, newest first (g: look again)"
                if moves
                else "Registry history — nothing recorded (is [containment] registry configured?)"
            )
        )

    def action_cursor_down(self) -> None:
        """Down."""
        self.query_one(MoveTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Up."""
        self.query_one(MoveTable).action_cursor_up()
