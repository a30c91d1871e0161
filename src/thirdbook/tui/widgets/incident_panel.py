"""The active incident: what it is, who holds its roles, its evidence status, the containment
moves, precision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from thirdbook.tui.safe_text import safe
from thirdbook.tui.unbroken import Unbroken
from thirdbook.tui.widgets.health_line import human_size

if TYPE_CHECKING:
    from thirdbook.domain.evidence import ContainmentState, SnapshotRecord
    from thirdbook.domain.incidents import Incident, RulePrecision
    from thirdbook.domain.roles import RoleHolder

CONTAINMENT = {
    "snapshot": ("Snapshot evidence", "keeps the incident's window as evidence (key s)"),
    "kill-switch": ("Kill switch", "routes the model's traffic away from it (key K)"),
    "rollback": ("Roll back", "points the serving alias at the last good version (key R)"),
    "quarantine": ("Quarantine", "holds training data and fine-tunes back from retraining (key Q)"),
}
"""The containment moves, each a button, a key and a palette entry."""


def evidence_text(snapshot: SnapshotRecord | None, running: str | None = None) -> Text:
    """The evidence checklist: each item captured (with its size) or missing."""
    text = Text("Evidence: ")
    if running is not None:
        text.append(f"snapshot running — {running}", style="bold")
        return text
    if snapshot is None or snapshot.status != "complete":
        text.append(
            "not snapshotted" if snapshot is None else "snapshot INCOMPLETE", style="bold reverse"
        )
        text.append(" (s: snapshot first, then act)")
        return text
    from thirdbook.domain.evidence import CHECKLIST

    text.append(f"snapshot #{snapshot.id} by ")
    text.append_text(safe(snapshot.by, 30))
    captured = snapshot.captured()
    for kind, label in CHECKLIST:
        size = captured.get(kind)
        text.append(f"\n  {'✓' if size else '✗'} {label}: ")
        if size:
            text.append(f"captured, {human_size(size)}")
        else:
            text.append("MISSING", style="bold reverse")
    return text


def containment_text(states: list[ContainmentState]) -> Text:
    """Each containment action: written, and observed in the serving logs (with the delay)."""
    text = Text()
    for n, state in enumerate(states[:3]):
        text.append("\n" if n else "")
        text.append(f"{state.action} → ", style="bold")
        text.append_text(safe(f"{state.model} {state.value}", 60))
        text.append(f": written {state.written.astimezone():%H:%M:%S}")
        if state.observed is None:
            text.append(" · not yet observed in the serving logs", style="bold")
        else:
            delay = (state.observed - state.written).total_seconds()
            text.append(f" · observed {state.observed.astimezone():%H:%M:%S} (+{delay:.1f} s)")
    return text


def roles_text(incident: Incident, roles: dict[str, RoleHolder] | None) -> Text:
    """Who holds the incident's roles, on one line: the commander always (the declarer
    until a handover), the scribe and communications when given."""
    from thirdbook.domain.roles import ROLES, RoleHolder

    held = dict(roles or {})
    if "commander" not in held:
        held["commander"] = RoleHolder(
            role="commander",
            user=incident.commander,
            by_user=incident.commander,
            at=incident.declared_at,
            declared=True,
        )
    text = Text()
    for n, role in enumerate(r for r in ROLES if r in held):
        text.append(" · " if n else "")
        text.append(f"{role} ", style="bold")
        text.append_text(safe(held[role].user, 30))
    return text


def incident_text(
    incident: Incident | None,
    now: datetime | None = None,
    roles: dict[str, RoleHolder] | None = None,
) -> Text:
    """The incident's facts and who holds its roles; its clock as of `now` (stopped at its
    close, if closed)."""
    if incident is None:
        return Text("No incident. Select an alert in Live (1) and declare one with d.", style="dim")
    from thirdbook.domain.incidents import elapsed_clock

    clock = elapsed_clock(incident, now or datetime.now(UTC))
    text = Text(f"#{incident.id} {incident.severity} · {incident.phase} · {clock}", style="bold")
    text.append("\n")
    text.append_text(roles_text(incident, roles))
    text.append("\n")
    text.append_text(safe(incident.title, 300))
    alerts = ", ".join(f"#{a}" for a in incident.alert_ids) or "none"
    text.append(f"\nBlast radius {incident.blast_radius} → recommended: ")
    text.append(incident.recommended_containment, style="bold")
    text.append(f" · alerts {alerts} · runbook {incident.runbook or '(none)'}")
    return text


def precision_text(rules: list[RulePrecision]) -> Text:
    """Each rule's precision: declared (or attached) over triaged; open alerts are not
    misses."""
    text = Text("Rule precision (declared / triaged): ", style="dim")
    if not rules:
        text.append("no rule has fired yet", style="dim")
    for n, rule in enumerate(rules):
        text.append(" · " if n else "")
        text.append_text(safe(rule.rule, 40))
        triaged = rule.declared + rule.dismissed
        text.append(f" {rule.declared}/{triaged} ({rule.label})" if triaged else f" ({rule.label})")
    return text


class IncidentPanel(VerticalScroll):
    """Facts, evidence status, containment buttons and rule precision; it scrolls (j/k,
    PgDn/PgUp) when they do not fit."""

    DEFAULT_CSS = """
    IncidentPanel { height: auto; max-height: 24; }
    IncidentPanel #incident-facts { height: auto; padding: 0 1; }
    IncidentPanel Horizontal { height: auto; padding: 0 1; }
    IncidentPanel Button { margin-right: 1; }
    IncidentPanel #precision, IncidentPanel #evidence, IncidentPanel #containment-state {
        height: auto; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(Unbroken(incident_text(None)), id="incident-facts")
        yield Static(id="evidence")
        yield Static(id="containment-state")
        with Horizontal():
            for key, (label, _) in CONTAINMENT.items():
                yield Button(
                    label,
                    id=f"contain-{key}",
                    compact=True,
                    variant="error" if key == "kill-switch" else "default",
                )
        yield Static(Unbroken(precision_text([])), id="precision")

    incident: Incident | None = None
    """The incident shown."""
    roles: dict[str, RoleHolder] | None = None
    """Who holds the incident's roles, as last read."""
    now: datetime | None = None
    """The time of the last tick: what the banner shows too."""

    def show_progress(self, step: str) -> None:
        """While a snapshot runs: what it is copying."""
        self.query_one("#evidence", Static).update(evidence_text(None, step))

    def show(
        self,
        incident: Incident | None,
        rules: list[RulePrecision],
        snapshot: SnapshotRecord | None = None,
        running: str | None = None,
        states: list[ContainmentState] | None = None,
        now: datetime | None = None,
        roles: dict[str, RoleHolder] | None = None,
    ) -> None:
        """Show an incident (or none), who holds its roles, its evidence, and the rules'
        precision."""
        self.incident = incident
        self.roles = roles
        self.tick(now or self.now or datetime.now(UTC))
        evidence = self.query_one("#evidence", Static)
        evidence.display = incident is not None
        evidence.update(evidence_text(snapshot, running))
        contained = self.query_one("#containment-state", Static)
        contained.display = bool(states)
        contained.update(Unbroken(containment_text(states or [])))
        self.query_one("#precision", Static).update(Unbroken(precision_text(rules)))

    def tick(self, now: datetime) -> None:
        """The incident's clock moves on (the banner passes the same `now`, so the two agree)."""
        self.now = now
        facts = self.query_one("#incident-facts", Static)
        text = incident_text(self.incident, now, self.roles)
        current = str(facts.content)
        if current == text.plain:
            return
        facts.update(Unbroken(text), layout=len(current) != len(text.plain))

    @on(Button.Pressed)
    async def _containment(self, event: Button.Pressed) -> None:
        key = (event.button.id or "").removeprefix("contain-")
        if key in CONTAINMENT:
            await self.screen.run_action(key.replace("-", "_"))
