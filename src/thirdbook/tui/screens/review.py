"""The Review screen (`B`): the active incident's blameless review — measured times, the
timeline in phases, findings (a finding that names a person gets advice, never a refusal),
action items typed and linked to the finding they answer, the runbook's diff against its
copy from the declaration — and the keys that finish it: `f` finding, `a` action item,
`e` edit the runbook, `c` complete, `m` write the report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from thirdbook.domain.errors import StoreError, TriageRefusedError
from thirdbook.domain.review import ACTION_KINDS, FINDING_KINDS
from thirdbook.services.factory import Services
from thirdbook.services.review import Review
from thirdbook.tui import keys
from thirdbook.tui.dialogs.action_item import ActionItemDialog
from thirdbook.tui.dialogs.choices import ChoiceDialog
from thirdbook.tui.dialogs.recovery import DecisionForm
from thirdbook.tui.editor import Editor, edit_runbook, run_editor
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.refusals import refusal
from thirdbook.tui.screens.review_view import review_text

ACTION_KIND_HELP = {
    "detect": "detect: see it sooner next time",
    "prevent": "prevent: stop it happening again",
    "correct": "correct: repair the harm done",
}


class ReviewScreen(Screen[None]):
    """One incident's review; esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.REVIEW]

    def __init__(self, service: Services, incident_id: int) -> None:
        super().__init__()
        self.service = service
        self.incident_id = incident_id
        self.review: Review | None = None
        self.editor: Editor = run_editor
        """Edits the runbook file (tests put a stand-in here: Pilot cannot suspend)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="review-title", classes="title")
        with VerticalScroll(id="review-scroll"):
            yield Static(id="review-body")
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_refresh()
        self.set_interval(3.0, self.action_refresh)  # other consoles' findings and edits

    async def action_refresh(self) -> None:
        """Read the review again."""
        try:
            review = await self.service.review.review(self.incident_id)
        except (TriageRefusedError, StoreError) as exc:
            self.query_one("#review-body", Static).update(safe(f"Cannot read the review: {exc}"))
            return
        self.review = review
        state = "completed" if review.completion else "not completed"
        title = (
            f"Review — incident #{self.incident_id} — {len(review.findings)} finding(s), {state}"
        )
        self.query_one("#review-title", Static).update(Text(title, style="bold"))
        self.query_one("#review-body", Static).update(review_text(review, datetime.now(UTC)))

    def action_scroll_down(self) -> None:
        """Scroll the review down a line."""
        self.query_one("#review-scroll", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        """Scroll the review up a line."""
        self.query_one("#review-scroll", VerticalScroll).scroll_up(animate=False)

    def _refused(self, action: str) -> bool:
        why = refusal(action, self.service, None)
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
        return why is not None

    @work(exclusive=True, group="review")
    async def action_add_finding(self) -> None:
        """A finding: its kind, then its text; advice when it names a person."""
        if self._refused("add_finding"):
            return
        options = [(k, Text(title)) for k, title in FINDING_KINDS.items()]
        kind = await self.app.push_screen_wait(ChoiceDialog("What kind of finding?", options))
        if kind is None:
            return
        values = await self.app.push_screen_wait(
            DecisionForm(
                f"{FINDING_KINDS[kind]} (name the mechanism, not the person)",
                [("text", "What happened, and what let it happen", "")],
                needs_reason=False,
            )
        )
        if values is None or not values["text"].strip():
            return
        try:
            got = await self.service.review.add_finding(self.incident_id, kind, values["text"])
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        await self.action_refresh()  # before saying so: the next key sees the finding
        if got.nudge:
            self.notify(
                f"Finding #{got.id} kept. Advice: {got.nudge}", severity="warning", timeout=15
            )
        else:
            self.notify(f"Finding #{got.id} recorded.")

    @work(exclusive=True, group="review")
    async def action_add_action_item(self) -> None:
        """An action item answering a finding: which finding, its type, then title, owner
        and due date."""
        if self._refused("add_action_item"):
            return
        if self.review is None or not self.review.findings:
            await self.action_refresh()  # a key pressed as a finding was being shown
        if self.review is None:
            return
        if not self.review.findings:
            self.notify(
                "Record a finding first (f): an action item answers one.", severity="warning"
            )
            return
        options = [
            (str(f.id), Text(f"#{f.id} ").append_text(safe(f.text, 70)))
            for f in self.review.findings
        ]
        chosen = await self.app.push_screen_wait(
            ChoiceDialog("Which finding does it answer?", options)
        )
        if chosen is None:
            return
        kinds = [(k, Text(ACTION_KIND_HELP[k])) for k in ACTION_KINDS]
        kind = await self.app.push_screen_wait(ChoiceDialog("What does it do?", kinds))
        if kind is None:
            return
        answer = await self.app.push_screen_wait(
            ActionItemDialog(self.incident_id, datetime.now(UTC).date())
        )
        if answer is None:
            return
        title, owner, due = answer
        try:
            item = await self.service.triage.add_action_item(
                self.incident_id,
                title=title,
                owner=owner,
                due=due,
                kind=kind,
                finding_id=int(chosen),
            )
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        await self.action_refresh()
        self.notify(f"Action item #{item.id} ({kind}) for {owner}, due {due}, answers #{chosen}.")

    async def action_edit_runbook(self) -> None:
        """Edit the incident's runbook in $EDITOR (the app suspends); the edit goes on the
        timeline and into the review's diff."""
        if self._refused("edit_runbook") or self.review is None:
            return
        name = self.review.incident.runbook
        if name is None:
            self.notify("The incident follows no runbook.", severity="warning")
            return
        if await edit_runbook(self.app, self.service, self.incident_id, name, self.editor):
            await self.action_refresh()

    @work(exclusive=True, group="review")
    async def action_complete(self) -> None:
        """Complete the review; without a runbook edit it asks why none was needed."""
        if self._refused("complete_review") or self.review is None:
            return
        reason = None
        if self.review.completion is not None:
            self.notify(
                f"The review was already completed by {self.review.completion.by}.",
                severity="warning",
            )
            return
        if not self.review.findings:
            self.notify("Refused: a review records at least one finding (f).", severity="error")
            return
        if not self.review.runbook_edited:
            values = await self.app.push_screen_wait(
                DecisionForm(
                    "Complete the review without a runbook edit",
                    [("reason", "Why the runbook needed no edit (or esc, then e to edit it)", "")],
                    needs_reason=False,
                )
            )
            if values is None:
                return
            reason = values["reason"]
        try:
            await self.service.review.complete(self.incident_id, reason)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=10)
            return
        self.notify(f"Review of incident #{self.incident_id} completed (on the timeline).")
        await self.action_refresh()

    async def action_write_report(self) -> None:
        """Write the post-incident report (Markdown) to the exports folder."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.service.paths.exports / f"incident-{self.incident_id}-report-{stamp}.md"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            text = await self.service.report.write(self.incident_id, out)
        except (TriageRefusedError, OSError) as exc:
            self.notify(f"Report not written: {exc}", severity="error", timeout=10)
            return
        self.notify(
            Text("Report written: ")
            .append_text(safe(str(out), 200))
            .append(f" ({len(text.encode()):,} bytes)")
            .plain,
            timeout=15,
        )
