"""The Explain screen: everything on tape about one decision, reached with `w` from a
selected event, an unexplainable-decision alert, or the explorer. It scrolls, copies the
request id (`c`) or the Markdown explanation (`m`), and answers the inquiry (`a`) when it
was reached through one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from thirdbook.domain.alerts import Alert
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.explain_render import as_markdown
from thirdbook.domain.explanation import Explanation
from thirdbook.domain.incidents import Incident
from thirdbook.domain.records import StoredEvent
from thirdbook.services.explain import UnknownDecisionError
from thirdbook.services.factory import Services
from thirdbook.tui import keys
from thirdbook.tui.dialogs.answer_note import AnswerNoteDialog
from thirdbook.tui.safe_text import safe, safe_prose
from thirdbook.tui.screens.explain_view import sections, verdict
from thirdbook.tui.screens.refusals import refusal


class ExplainScreen(Screen[None]):
    """One decision explained; esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.EXPLAIN]
    CSS = """
    ExplainScreen #explain-title { height: 1; padding: 0 1; text-style: bold; }
    ExplainScreen #explain-verdict { height: auto; padding: 0 1; }
    ExplainScreen #explain-body { height: 1fr; }
    ExplainScreen .section { height: auto; padding: 0 1; margin-bottom: 1; }
    ExplainScreen #explain-status { height: auto; max-height: 4; padding: 0 1; }
    """

    def __init__(self, service: Services, explanation: Explanation) -> None:
        super().__init__()
        self.service = service
        self.explanation = explanation

    @property
    def inquiry_id(self) -> str | None:
        """The inquiry this explanation was reached through, if any."""
        found = (self.explanation.inquiry or {}).get("inquiry_id")
        return None if found is None else str(found)

    def compose(self) -> ComposeResult:
        e = self.explanation
        title = Text("Decision ") + safe(e.request_id, 120) + Text(f" · event #{e.event_id}")
        if self.inquiry_id is not None:
            title += Text(" · inquiry ") + safe(self.inquiry_id, 80) + Text(" (a answers it)")
        yield Static(title, id="explain-title")  # no Header: a line more for the facts
        yield Static(verdict(e), id="explain-verdict")
        with VerticalScroll(id="explain-body"):
            for n, block in enumerate(sections(e)):
                yield Static(block, classes="section", id=f"section-{n}")
        yield Static("", id="explain-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#explain-body").focus()

    def text(self) -> str:
        """Everything the screen shows, as plain text (for tests and copy checks)."""
        parts = [self.query_one(s, Static).content for s in ("#explain-title", "#explain-verdict")]
        parts += [block.content for block in self.query(".section").results(Static)]
        parts.append(self.query_one("#explain-status", Static).content)
        return "\n".join(p.plain if isinstance(p, Text) else str(p) for p in parts)

    def action_scroll_down(self) -> None:
        """Down a line."""
        self.query_one("#explain-body", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        """Up a line."""
        self.query_one("#explain-body", VerticalScroll).scroll_up()

    def action_copy_request_id(self) -> None:
        """The request id to the clipboard."""
        self.app.copy_to_clipboard(self.explanation.request_id)
        self.notify(f"Copied request id {self.explanation.request_id} to the clipboard.")

    def action_copy_markdown(self) -> None:
        """The explanation as Markdown (secrets masked) to the clipboard."""
        markdown = as_markdown(self.explanation)
        self.app.copy_to_clipboard(markdown)
        lines = markdown.count("\n")
        self.notify(f"Copied the explanation as Markdown ({lines} lines) to the clipboard.")

    @work(exclusive=True, group="answer")
    async def action_answer_inquiry(self) -> None:
        """Answer the inquiry with this explanation: asks once for an optional note."""
        why = refusal("answer_inquiry", self.service, None)
        if why is None and self.inquiry_id is None:
            why = (
                "Refused: no inquiry asks about this decision here "
                "(open it with w from the unexplainable-decision alert or the inquiry event)."
            )
        if why is not None or self.inquiry_id is None:
            self.notify(why or "", severity="warning", timeout=8)
            return
        note = await self.app.push_screen_wait(
            AnswerNoteDialog(self.inquiry_id, self.explanation.request_id)
        )
        if note is None:
            self.notify("Not answered.")
            return
        try:
            done = await self.service.explain.answer(self.inquiry_id, note or None)
        except (TriageRefusedError, UnknownDecisionError) as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        said = f"Answered {done.elapsed_s:.0f} s after it arrived. {done.sentence()}"
        self.query_one("#explain-status", Static).update(safe_prose(said, style="bold"))
        self.notify(said, timeout=8)


async def explain_selected(
    screen: Screen[None], service: Services | None, alert: Alert | None, event: StoredEvent | None
) -> None:
    """Open the Explain screen for the selected alert (else event), or say why not."""
    if service is None:
        return
    if alert is None and event is None:
        screen.notify("Select an event or an unexplainable alert first (j/k).", severity="warning")
        return
    try:
        if alert is not None:
            explanation = await service.explain.for_alert(alert)
        else:
            assert event is not None
            explanation = await service.explain.for_event(event)
    except UnknownDecisionError as exc:
        screen.notify(f"Nothing to explain: {exc}", severity="warning", timeout=8)
        return
    await screen.app.push_screen(ExplainScreen(service, explanation))
    incident = getattr(screen, "incident", None)  # the main screen's active incident
    if isinstance(incident, Incident):  # its "explain a decision" step is done
        await service.acting.performed("explain", incident.id)
