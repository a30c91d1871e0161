"""The actions refused at their key, before any dialog opens: every action that changes
something on a read-only console, and those a closed incident refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from thirdbook.domain.incidents import Incident
    from thirdbook.services.factory import Services


ACTING = frozenset(
    [
        "declare",
        "dismiss_alert",
        "attach",
        "severity",
        "phase",
        "snapshot",
        "kill_switch",
        "rollback",
        "quarantine",
        "export",
        "add_action_item",
        "close_action_item",
        "check_step",
        "edit_runbook",
        "reveal_secrets",
        "answer_inquiry",
        "keep_finding",
        "take_baseline",
        "run_replay",
        "mark_replay",
        "note",
        "decide",
        "serious",
        "handover",
        "add_finding",
        "complete_review",
    ]
)
"""The actions that change something: a read-only console offers none of them."""

CLOSED_REFUSES = frozenset(
    (
        "severity",
        "phase",
        "kill_switch",
        "rollback",
        "quarantine",
        "check_step",
        "keep_finding",
        "decide",
        "handover",
    )
)
"""The actions a closed incident refuses (a snapshot, an export and action items stay)."""


def refusal(action: str, svc: Services | None, incident: Incident | None) -> str | None:
    """Why `action` is refused now, in a sentence; None if it may go ahead."""
    if action in ACTING and svc is not None and svc.read_only:
        looking = svc.session.read_only_why
        if svc.read_only_reason is None and looking is not None:  # a browser session
            return f"Refused: {looking}; it looks but does not act."
        why = svc.read_only_reason or "opened with --read-only"
        return f"Refused: this console is read-only ({why}); it looks but does not act."
    if action in CLOSED_REFUSES and incident is not None and incident.phase == "closed":
        return (
            f"Refused: incident #{incident.id} is closed; a closed incident stays closed "
            "(choose another with I)."
        )
    return None
