"""`y`: the Replay screen of the active incident. Its decisions, as logged, go to the
known-good and the suspect version at once (bounded in flight); a progress bar counts them
with an ETA, `esc` cancels (what was answered is kept) and `g` resumes. Then a row per input
and the one highlighted side by side: the input, both answers, the expected outcome and the
verdict; `]`/`[` step between inputs, `v` filters by verdict, `r`/`x` mark the suspect's
answer right or wrong where nothing logged says it.

Opening it on an incident whose newest run finished shows that run (`g` runs it again);
otherwise it starts the run, or resumes the unfinished one.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from thirdbook.domain.errors import TriageRefusedError
from thirdbook.services.explain import UnknownDecisionError
from thirdbook.services.factory import Services
from thirdbook.services.replay import Mark, Progress, ReplayLine, ReplayOutcome, Verdict
from thirdbook.tui import keys
from thirdbook.tui.dialogs.replay_inputs import ReplayInputsDialog
from thirdbook.tui.safe_text import safe_prose
from thirdbook.tui.screens.explain import ExplainScreen
from thirdbook.tui.screens.refusals import refusal
from thirdbook.tui.screens.replay_view import (
    FILTERS,
    expected_text,
    filter_text,
    input_text,
    progress_text,
    row_cells,
    run_title,
    side_by_side,
    verdict_text,
)

PROGRESS_EVERY_S = 0.2
ROWS_EVERY_S = 1.0
"""While a run goes, its rows are read again at most this often."""


class InputTable(DataTable[Text]):
    """A row per replayed input."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for column in ("request", "known good", "suspect", "expected", "verdict"):
            self.add_column(column, key=column)


class ReplayScreen(Screen[None]):
    """An incident's replay against both versions; esc cancels a run, then goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.REPLAY]
    CSS = """
    ReplayScreen #replay-title { height: auto; max-height: 2; padding: 0 1; }
    ReplayScreen #replay-progress-row { height: 1; padding: 0 1; }
    ReplayScreen #replay-bar { width: 30; }
    ReplayScreen #replay-counts { width: 1fr; padding: 0 1; }
    ReplayScreen #replay-verdict { height: auto; max-height: 3; padding: 0 1; }
    ReplayScreen #replay-inputs { height: 1fr; min-height: 5; }
    ReplayScreen #replay-detail { height: 2fr; }
    ReplayScreen #replay-input { height: auto; padding: 0 1; }
    ReplayScreen #replay-answers { height: auto; }
    ReplayScreen .answer { width: 1fr; height: auto; padding: 0 1; }
    ReplayScreen #replay-expected { height: auto; padding: 0 1; }
    """

    def __init__(self, service: Services, incident_id: int, inputs: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.incident_id = incident_id
        self.inputs = inputs
        """What the run sends, as `thirdbook replay --inputs` names it (None: the window)."""
        self.outcome: ReplayOutcome | None = None
        self.shown: list[ReplayLine] = []
        self.filter_at = 0
        self.running = False
        self.cancel: asyncio.Event | None = None
        self._progress_at = 0.0
        self._rows_at = 0.0
        self._after = ""

    def compose(self) -> ComposeResult:
        yield Static(run_title(self.incident_id, None, None), id="replay-title")
        with Horizontal(id="replay-progress-row"):
            yield ProgressBar(id="replay-bar", show_eta=False)
            yield Static("", id="replay-counts")
        yield Static("", id="replay-verdict")
        yield InputTable(id="replay-inputs")
        with VerticalScroll(id="replay-detail"):
            yield Static("", id="replay-expected")
            with Horizontal(id="replay-answers"):
                yield Static("", classes="answer", id="replay-known-good")
                yield Static("", classes="answer", id="replay-suspect")
            yield Static("", id="replay-input")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(InputTable).focus()
        self.open_run()

    def text(self) -> str:
        """Everything the screen shows in words (for tests)."""
        ids = ["#replay-title", "#replay-counts", "#replay-verdict", "#replay-input"]
        ids += ["#replay-known-good", "#replay-suspect", "#replay-expected"]
        parts = [self.query_one(i, Static).content for i in ids]
        return "\n".join(p.plain if isinstance(p, Text) else str(p) for p in parts)

    @property
    def chosen(self) -> Verdict | None:
        """The verdict the rows are filtered by (None: every input)."""
        return FILTERS[self.filter_at]

    @work(exclusive=True, group="replay-open")
    async def open_run(self) -> None:
        """Show the newest run if it finished, else start (or resume) one."""
        named = self.inputs or "window"
        runs = [r for r in await self.service.replay.runs(self.incident_id) if r.inputs == named]
        if runs and runs[0].status == "finished":
            self._show(await self.service.replay.outcome(runs[0].id))
            self.query_one(ProgressBar).update(total=1, progress=1)
            self._counts("finished — g runs it again", after=True)
            return
        self.action_run()

    def _counts(self, text: str, *, after: bool = False) -> None:
        """The line beside the bar; `after`: what it says once the run is over (shown again
        when the filter is cleared)."""
        if after:
            self._after = text
        self.query_one("#replay-counts", Static).update(Text(text))

    def _progress(self, progress: Progress) -> None:
        now = time.monotonic()
        final = progress.done == progress.total
        if not final and now - self._progress_at < PROGRESS_EVERY_S:
            return
        self._progress_at = now
        self.query_one(ProgressBar).update(total=progress.total, progress=progress.done)
        self._counts(progress_text(progress))
        if not final and now - self._rows_at >= ROWS_EVERY_S:
            self._rows_at = now
            self.rows_so_far()

    @work(exclusive=True, group="replay-rows")
    async def rows_so_far(self) -> None:
        """The running run's rows as answered so far (and its versions in the title)."""
        named = self.inputs or "window"
        runs = [r for r in await self.service.replay.runs(self.incident_id) if r.inputs == named]
        if runs and self.running:
            line = self.selected()
            outcome = await self.service.replay.outcome(runs[0].id)
            if self.running:
                self._show(outcome, None if line is None else line.request_id)

    @work(exclusive=True, group="replay-run")
    async def action_run(self) -> None:
        """Run the replay (resuming an unfinished one: answered inputs are not sent again)."""
        why = refusal("run_replay", self.service, None)
        if why is not None:
            self._refused(why)
            return
        if self.running:
            return
        self.cancel = asyncio.Event()
        self.running = True
        self.refresh_bindings()
        self._counts("reading the inputs…")
        self.query_one(ProgressBar).update(total=None, progress=0)
        try:
            outcome = await self.service.replay.run(
                self.incident_id,
                inputs=self.inputs,
                on_progress=self._progress,
                cancel=self.cancel,
            )
        except TriageRefusedError as exc:
            self._refused(f"Refused: {exc}")
            return
        except Exception as exc:  # an endpoint or the store failed: said, not a crash
            self._refused(f"Replay failed: {type(exc).__name__}: {exc}")
            return
        finally:
            self.running = False
            self.refresh_bindings()
        line = self.selected()
        self._show(outcome, None if line is None else line.request_id)
        if outcome.cancelled:
            self._counts(f"cancelled at {len(outcome.lines)} inputs — g resumes", after=True)
        else:
            self.query_one(ProgressBar).update(total=1, progress=1)
            self._counts(f"{len(outcome.lines)} inputs answered by both", after=True)
            self.notify(f"Replay verdict: {outcome.run.verdict}", timeout=8)

    def _refused(self, why: str) -> None:
        self._counts("")
        self.query_one("#replay-verdict", Static).update(safe_prose(why, 2000, "bold"))
        self.notify(why, severity="error", timeout=10)

    def _show(self, outcome: ReplayOutcome, keep: str | None = None) -> None:
        self.outcome = outcome
        title = run_title(self.incident_id, outcome.run, None)
        self.query_one("#replay-title", Static).update(title)
        chosen = self.chosen
        self.shown = [ln for ln in outcome.lines if chosen is None or ln.verdict == chosen]
        self.query_one("#replay-verdict", Static).update(verdict_text(outcome))
        if not self.running:
            shown = self._after if chosen is None else None
            filtered = filter_text(chosen, len(self.shown), len(outcome.lines)) if chosen else None
            self.query_one("#replay-counts", Static).update(filtered or Text(shown or ""))
        table = self.query_one(InputTable)
        table.clear()
        at = 0
        for n, line in enumerate(self.shown):
            table.add_row(*row_cells(line), key=str(n))
            if line.request_id == keep:
                at = n
        if self.shown:
            table.move_cursor(row=at)
        self.show_detail()
        self.refresh_bindings()

    def selected(self) -> ReplayLine | None:
        """The highlighted input."""
        table = self.query_one(InputTable)
        if not self.shown or table.cursor_row < 0:
            return None
        return self.shown[min(table.cursor_row, len(self.shown) - 1)]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.show_detail()

    @work(exclusive=True, group="replay-detail")
    async def show_detail(self) -> None:
        """The highlighted input side by side."""
        line = self.selected()
        blocks = ("#replay-input", "#replay-known-good", "#replay-suspect", "#replay-expected")
        texts: tuple[Text | str, ...] = ("", "", "", "")
        if line is not None and self.outcome is not None:
            detail = await self.service.replay.detail(self.outcome.run.id, line.request_id)
            if detail is None:
                return
            good, bad = side_by_side(detail)
            texts = (input_text(detail), good, bad, expected_text(detail))
        try:
            for block, text in zip(blocks, texts, strict=True):
                self.query_one(block, Static).update(text)
        except NoMatches:  # the screen closed (esc, or the console quit) while reading
            return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """esc cancels while running; stepping and marking need inputs; g not while running."""
        if action in ("run", "choose_inputs"):
            return not self.running
        if action in ("next_input", "previous_input", "mark_right", "mark_wrong", "explain"):
            return bool(self.shown)
        if action == "filter_verdict":
            return self.outcome is not None
        return True

    async def action_cancel_or_back(self) -> None:
        """Cancel the run in progress (its answers are kept), else go back."""
        if self.running and self.cancel is not None:
            self.cancel.set()
            self._counts("cancelling…")
            return
        self.app.pop_screen()

    def on_unmount(self) -> None:
        if self.cancel is not None:
            self.cancel.set()

    @work(exclusive=True, group="replay-inputs")
    async def action_choose_inputs(self) -> None:
        """Name other inputs (an alert's decisions, a filter, a file), then replay them."""
        if self.running:
            self.notify("The run is still going: esc cancels it first.", severity="warning")
            return
        chosen = await self.app.push_screen_wait(ReplayInputsDialog(self.inputs))
        if chosen is None:
            return
        self.inputs = chosen or None
        self.filter_at, self.outcome, self.shown = 0, None, []
        self.query_one(InputTable).clear()
        self.query_one("#replay-title", Static).update(run_title(self.incident_id, None, None))
        self.show_detail()
        self.open_run()

    @work(exclusive=True, group="replay-explain")
    async def action_explain(self) -> None:
        """The highlighted input's decision explained, as logged."""
        line = self.selected()
        if line is None:
            return
        try:
            explanation = await self.service.explain.explain(request_id=line.request_id)
        except UnknownDecisionError as exc:
            self.notify(f"Nothing to explain: {exc}", severity="warning", timeout=8)
            return
        await self.app.push_screen(ExplainScreen(self.service, explanation))

    def action_next_input(self) -> None:
        """The next input."""
        self.query_one(InputTable).action_cursor_down()

    def action_previous_input(self) -> None:
        """The previous input."""
        self.query_one(InputTable).action_cursor_up()

    def action_filter_verdict(self) -> None:
        """Show only the inputs of the next verdict (then every input again)."""
        if self.outcome is None:
            return
        line = self.selected()
        self.filter_at = (self.filter_at + 1) % len(FILTERS)
        self._show(self.outcome, None if line is None else line.request_id)

    async def action_mark_right(self) -> None:
        """The suspect's answer to the highlighted input was right."""
        self._mark("right")

    async def action_mark_wrong(self) -> None:
        """The suspect's answer to the highlighted input was wrong."""
        self._mark("wrong")

    @work(exclusive=True, group="replay-mark")
    async def _mark(self, mark: Mark) -> None:
        line = self.selected()
        if line is None or self.outcome is None:
            return
        why = refusal("mark_replay", self.service, None)
        if why is None and self.running:
            why = "Refused: the run is still going; mark its inputs when it ends (or esc)."
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
            return
        try:
            outcome = await self.service.replay.mark(self.outcome.run.id, line.request_id, mark)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        self._show(outcome, line.request_id)
        self.notify(
            f"{line.request_id}: the suspect's answer marked {mark}; "
            f"run verdict {outcome.run.verdict}",
            timeout=8,
        )
