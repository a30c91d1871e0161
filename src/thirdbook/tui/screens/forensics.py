"""`f`: the Forensics screen of the active incident. Every link of its chain (template text,
retrieved documents, each tool's output shape, weights hash, flag file, registry alias,
decision mix) against the model's last known-good baseline, with its status and when a change
first appears in the logs; enter opens a link's diff, `a` keeps it as a finding on the
incident's timeline. With no baseline yet the screen says so, and how to take one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from thirdbook.domain.baselines import Link
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.services.factory import Services
from thirdbook.services.forensics import ChainReport, NoBaselineError
from thirdbook.tui import keys
from thirdbook.tui.clock_text import local
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.forensics_diff import LinkDiffScreen, link_cells
from thirdbook.tui.screens.refusals import refusal

_ORDER = {"changed": 0, "new": 1, "gone": 2, "unchanged": 3}


class LinkTable(DataTable[Text]):
    """The chain's links, changed ones first."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for column in ("status", "link", "first seen", "first request"):
            self.add_column(column, key=column)


class ForensicsScreen(Screen[None]):
    """An incident's chain diff; esc goes back to the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.FORENSICS]
    CSS = """
    ForensicsScreen #forensics-title { height: auto; padding: 0 1; }
    ForensicsScreen #forensics-links { height: 1fr; }
    """

    def __init__(self, service: Services, incident_id: int) -> None:
        super().__init__()
        self.service = service
        self.incident_id = incident_id
        self.report: ChainReport | None = None
        self.links: list[Link] = []
        self.no_baseline = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            Text(f"Forensics — incident #{self.incident_id}: reading its chain…"),
            id="forensics-title",
        )
        yield LinkTable(id="forensics-links")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LinkTable).focus()
        self.action_refresh()

    def _title(self, text: Text) -> None:
        text.no_wrap, text.overflow = False, "fold"
        self.query_one("#forensics-title", Static).update(text)

    @work(exclusive=True, group="forensics")
    async def action_refresh(self) -> None:
        """Read the incident's chain diff again."""
        self.report, self.links, self.no_baseline = None, [], False
        try:
            report = await self.service.forensics.chain(self.incident_id)
        except TriageRefusedError as exc:
            self.no_baseline = isinstance(exc.__cause__, NoBaselineError)
            self._show_rows()
            self._title(self._refused_text(str(exc)))
            self.refresh_bindings()
            return
        self.report = report
        self.links = sorted(report.links, key=lambda link: _ORDER[link.status])
        self._show_rows()
        self._title(self._report_text(report))
        self.refresh_bindings()

    def _show_rows(self) -> None:
        table = self.query_one(LinkTable)
        table.clear()
        for n, link in enumerate(self.links):
            table.add_row(*link_cells(link), key=str(n))

    def _refused_text(self, why: str) -> Text:
        text = Text(f"Forensics — incident #{self.incident_id}\n", style="bold")
        if not self.no_baseline:
            text.append_text(safe(f"Refused: {why}", None))
            return text
        text.append_text(safe(why, None))
        offer = refusal("take_baseline", self.service, None)
        text.append(
            "." if offer is not None else " — or press b to take one now of its known-good version."
        )
        return text

    def _report_text(self, report: ChainReport) -> Text:
        base = report.baseline
        changed = len(report.changed)
        text = Text(no_wrap=False, overflow="fold")
        text.append(f"Forensics — incident #{self.incident_id}: ", style="bold")
        text.append_text(safe(f"{report.model} {report.suspect}", 60, "bold"))
        text.append(f" against baseline #{report.baseline_id} (")
        text.append_text(safe(base.version, 40))
        text.append(f", taken {local(base.taken):%Y-%m-%d %H:%M})\n")
        text.append(
            f"{report.decisions} decisions {local(report.since):%Y-%m-%d %H:%M} – "
            f"{local(report.until):%Y-%m-%d %H:%M}; "
            f"{changed} of {len(report.links)} links changed, new or gone — "
            "enter: diff, a: add as finding"
        )
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`b` only with no baseline; enter and `a` only with links to act on."""
        if action == "take_baseline":
            return self.no_baseline
        if action in ("keep_finding", "diff"):
            return bool(self.links)
        return True

    def selected(self) -> Link | None:
        """The highlighted link."""
        table = self.query_one(LinkTable)
        if not self.links or table.cursor_row < 0:
            return None
        return self.links[min(table.cursor_row, len(self.links) - 1)]

    def action_cursor_down(self) -> None:
        """Down."""
        self.query_one(LinkTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Up."""
        self.query_one(LinkTable).action_cursor_up()

    def action_diff(self) -> None:
        """The highlighted link's diff."""
        link = self.selected()
        if link is not None and self.report is not None:
            base = self.report.baseline
            against = f"baseline #{self.report.baseline_id} ({base.model} {base.version})"
            self.app.push_screen(LinkDiffScreen(link, against))

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_diff()

    @work(exclusive=True, group="forensics-act")
    async def action_keep_finding(self) -> None:
        """Keep the highlighted changed link as a finding on the incident's timeline."""
        link = self.selected()
        if link is None:
            return
        incident = await self.service.triage.incident(self.incident_id)
        why = refusal("keep_finding", self.service, incident)
        if why is None and link.status == "unchanged":
            why = f"Refused: {link.label} is unchanged; only a change is a finding."
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
            return
        try:
            await self.service.forensics.keep(self.incident_id, [link.label])
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        self.notify(f"Kept as a finding on incident #{self.incident_id}'s timeline: {link.label}")
        self._main_looks_again()

    @work(exclusive=True, group="forensics-act")
    async def action_take_baseline(self) -> None:
        """Baseline the model's known-good version from its logged decisions, then diff."""
        why = refusal("take_baseline", self.service, None)
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
            return
        try:
            row = await self.service.forensics.baseline_for_snapshot(self.incident_id)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        if row is None:
            self.notify(
                "No baseline taken: no known-good version of the model logged decisions; "
                "take one with `thirdbook baseline MODEL VERSION`.",
                severity="warning",
                timeout=8,
            )
            return
        self.notify(f"Baseline #{row.id} taken of {row.model} {row.version}.")
        self.action_refresh()

    def _main_looks_again(self) -> None:
        main = self.app.screen_stack[0]
        look_again = getattr(main, "look_again", None)
        if callable(look_again):
            look_again()
