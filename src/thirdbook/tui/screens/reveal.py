"""Showing a masked secret: an explicit action with a reason, audited, for one line at a time."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen

from thirdbook.domain.errors import TriageRefusedError
from thirdbook.services.factory import Services
from thirdbook.tui.dialogs.triage import PromptDialog
from thirdbook.tui.widgets.event_browser import EventBrowser


async def reveal_selected(
    screen: Screen[None], browser: EventBrowser, service: Services, incident_id: int | None
) -> None:
    """Ask why, record it, then show the selected event's raw line with its secrets."""
    event = browser.selected_event()
    if event is None:
        screen.notify("Select an event first (j/k).", severity="warning")
        return
    reason = await screen.app.push_screen_wait(
        PromptDialog(
            f"Show the secrets in event #{event.id}?",
            Text(
                "Masked secrets (keys, tokens, JWTs, private keys, bearer headers) in this line "
                "will be shown until you move off it. Who, when and why go in the audit chain."
            ),
            "Why do you need to see them? (enter to show)",
            "A reason is required.",
        )
    )
    if reason is None:
        return
    try:
        _, kinds = await service.queries.reveal_secrets(event.id, reason, incident_id)
    except TriageRefusedError as exc:
        screen.notify(f"Refused: {exc}", severity="error", timeout=8)
        return
    browser.reveal(event.id)
    screen.notify(
        f"Showing {len(kinds)} secret(s) in event #{event.id} ({', '.join(kinds)}); "
        "recorded in the audit chain.",
        severity="warning",
        timeout=8,
    )
