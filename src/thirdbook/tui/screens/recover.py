"""The Recover screen (`u`): the active incident's recovery decisions and their state
(written, observed in the serving logs, band expiry), and the decision itself, restore with
conditions, retrain or retire, each through its dialogs; it asks once before writing the flag
file, and refuses with the reason (read-only, not contained and no reason, retrain before the
quarantine sign-off)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.domain.flag_targeting import FlagCondition, parse_filter
from thirdbook.services.factory import Services
from thirdbook.tui import keys
from thirdbook.tui.dialogs.choices import ChoiceDialog
from thirdbook.tui.dialogs.recovery import AskOnce, DecisionForm
from thirdbook.tui.editor import run_editor
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.refusals import refusal

KINDS = (
    ("restore", "restore with conditions: flag rules (filter, cohort) and a tighter band"),
    ("retrain", "retrain: a plan, once the quarantine audit is signed off"),
    ("retire", "retire: a replacement, the kill switch for good, a communication note"),
)
REPLACEMENTS = (
    ("human", "people (the human route)"),
    ("rules", "a rules engine (the fallback route)"),
    ("model", "another model (the fallback route)"),
)


def edit_note(app: App[Any], incident_id: int) -> str | None:
    """The retirement's communication note, written in $EDITOR (the app suspends); None when
    the editor could not run. Lines starting with # are dropped."""
    with tempfile.TemporaryDirectory(prefix="thirdbook-note-") as folder:
        path = Path(folder) / "note.md"
        path.write_text(
            f"# Communication note: incident #{incident_id}'s model is retired.\n"
            "# Say who is told, what changes for them, and from when. # lines are dropped.\n",
            encoding="utf-8",
        )
        if run_editor(app, path) is not None:
            return None
        text = path.read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


class RecoverScreen(Screen[None]):
    """The incident's recovery decisions; `d` decides, `g` looks again, esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.RECOVER]

    def __init__(self, service: Services, incident_id: int) -> None:
        super().__init__()
        self.service = service
        self.incident_id = incident_id
        self.note_writer = edit_note
        """Writes the retirement note (tests put a stand-in here)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="recover-title", classes="title")
        with VerticalScroll():
            yield Static(id="recover-decisions")
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_refresh()
        self.set_interval(1.0, self.action_refresh)  # "observed" arrives with the logs

    async def action_refresh(self) -> None:
        """Read the decisions and their state again."""
        states = await self.service.recovery.decisions(self.incident_id)
        title = f"Recover — incident #{self.incident_id} — "
        title += f"{len(states)} decision(s)" if states else "no decision yet"
        self.query_one("#recover-title", Static).update(Text(title + " (d: decide)", style="bold"))
        body = Text()
        now = datetime.now(UTC)
        for n, s in enumerate(states):
            d = s.decision
            body.append("\n\n" if n else "")
            body.append(f"#{d.id} {d.kind.upper()} ", style="bold")
            body.append(f"{d.at.astimezone():%H:%M:%S} by ")
            body.append_text(safe(d.by, 30))
            body.append(f"\n  {s.state(now)}", style="bold")
            if d.override:
                body.append("\n  deviation: ")
                body.append_text(safe(d.override, 200))
            body.append("\n  ")
            body.append_text(safe(d.summary, 600))
        if not states:
            body.append(
                "Restore with conditions, retrain or retire: press d. Each needs the incident "
                "contained (or a reason, recorded as a deviation).",
                style="dim",
            )
        self.query_one("#recover-decisions", Static).update(body)

    @work(exclusive=True, group="decide")
    async def action_decide(self) -> None:
        """Choose restore, retrain or retire, then its dialogs."""
        svc = self.service
        incident = await svc.triage.incident(self.incident_id)
        why = refusal("decide", svc, incident)
        if why is not None or incident is None:
            self.notify(why or "No incident.", severity="warning", timeout=8)
            return
        options = [(k, Text(what)) for k, what in KINDS]
        kind = await self.app.push_screen_wait(ChoiceDialog("Decide how it recovers", options))
        if kind is None:
            return
        contained = await svc.recovery.contained(incident)
        try:
            done = await getattr(self, f"_{kind}")(not contained)
        except (TriageRefusedError, ActionFailedError) as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=10)
            return
        if done:
            self.notify(f"Decided: {kind} (on the timeline).")
            await self.action_refresh()

    async def _restore(self, needs_reason: bool) -> bool:
        form = DecisionForm(
            "RESTORE with conditions",
            [
                ("filters", "Input filter: KEY=VALUE … (also >=, <, !=; empty: all)", ""),
                ("cohort", "Cohort share the model serves, %", "100"),
                ("band", "Tighter band LOW..HIGH for its drift rules (empty: none)", ""),
                ("expires", "The band expires after (90m, 48h, 7d) or at (ISO time)", "7d"),
            ],
            needs_reason=needs_reason,
        )
        values = await self.app.push_screen_wait(form)
        if values is None:
            return False
        filters = values["filters"].split()
        try:
            cohort = int(values["cohort"].strip() or "100")
            condition = FlagCondition(
                filters=tuple(parse_filter(f) for f in filters), cohort_pct=cohort
            )
        except ValueError as exc:
            raise TriageRefusedError(f"not written: {exc}") from exc
        flag_file = self.service.containment_config.flag_file
        body = Text("The flag file ")
        body.append_text(safe(str(flag_file), 120))
        body.append(" gets a targeting rule: ")
        body.append_text(safe(str(condition).split(", the rest")[0], 300))
        body.append("; every other request stays where the kill switch holds it.")
        if values["band"].strip():
            body.append(f"\nBand override {values['band'].strip()} until {values['expires']}.")
        if not await self.app.push_screen_wait(
            AskOnce(Text("Write the flag rules now?", style="bold"), body)
        ):
            return False
        await self.service.recovery.restore(
            self.incident_id,
            filters=filters,
            cohort=cohort,
            band=values["band"].strip() or None,
            band_expires=(values["expires"].strip() or None) if values["band"].strip() else None,
            override=values.get("override"),
        )
        return True

    async def _retrain(self, needs_reason: bool) -> bool:
        form = DecisionForm(
            "RETRAIN plan",
            [
                ("data", "What it trains on (paths or ids, space-separated)", ""),
                ("signer", "Who signs the retrain off", ""),
            ],
            needs_reason=needs_reason,
        )
        values = await self.app.push_screen_wait(form)
        if values is None:
            return False
        await self.service.recovery_plans.retrain(
            self.incident_id,
            values["data"].split(),
            values["signer"],
            override=values.get("override"),
        )
        return True

    async def _retire(self, needs_reason: bool) -> bool:
        options = [(k, Text(what)) for k, what in REPLACEMENTS]
        replacement = await self.app.push_screen_wait(ChoiceDialog("What replaces it?", options))
        if replacement is None:
            return False
        fields = [] if replacement == "human" else [("name", f"Which {replacement}", "")]
        # The kill switch it sets keeps its own rule: snapshot first, or a reason.
        snapshots = await self.service.containment.snapshots(self.incident_id)
        needs_reason = needs_reason or not any(s.status == "complete" for s in snapshots)
        values: dict[str, str] | None = {}
        if fields or needs_reason:
            values = await self.app.push_screen_wait(
                DecisionForm("RETIRE", fields, needs_reason=needs_reason)
            )
        if values is None:
            return False
        note = self.note_writer(self.app, self.incident_id)
        if not note:
            raise TriageRefusedError("a retirement needs its communication note ($EDITOR)")
        route = "human" if replacement == "human" else "fallback"
        if not await self.app.push_screen_wait(
            AskOnce(
                Text("Retire the model for good?", style="bold"),
                Text(f"The kill switch routes it to {route} for good; the note is kept."),
            )
        ):
            return False
        await self.service.recovery_plans.retire(
            self.incident_id,
            replacement,  # type: ignore[arg-type]
            note,
            name=values.get("name"),
            override=values.get("override"),
        )
        return True
