"""Every key binding of the console in one place, each with an id users can remap.

`[console.keymap]` in `thirdbook.toml` maps a binding id to new keys (`declare = "D"`). The
help screen (`?`) and the command palette (ctrl+p) are built from these lists, so they never
disagree with what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

GLOBAL = [
    Binding("q", "quit", "Quit", id="quit"),
    Binding("question_mark,f1", "help", "Help", id="help"),
    Binding("I", "incidents", "Incidents", id="incidents"),
    Binding("H", "registry", "Registry history", show=False, id="registry-history"),
    Binding("slash", "explore", "Explore events", id="explore"),
    Binding("ctrl+l", "clear_notifications", "Clear messages", show=False, id="clear-messages"),
]

MAIN = [
    Binding("d", "declare", "Declare", id="declare"),
    Binding("x", "dismiss_alert", "Dismiss", id="dismiss"),
    Binding("t", "attach", "Attach", id="attach"),
    Binding("v", "severity", "Severity", id="severity"),
    Binding("p", "phase", "Phase", id="phase"),
    Binding("s", "snapshot", "Snapshot", id="snapshot"),
    Binding("K", "kill_switch", "Kill switch", id="kill-switch"),
    Binding("R", "rollback", "Roll back", id="rollback"),
    Binding("Q", "quarantine", "Quarantine", show=False, id="quarantine"),
    Binding("E", "export", "Export evidence", show=False, id="export"),
    # Priority: handled in the key's own turn, so the dialog is up before the next key.
    Binding("i", "add_action_item", "Action item", id="add-action-item", priority=True),
    Binding("c", "close_action_item", "Close item", show=False, id="close-action-item"),
    Binding("space", "check_step", "Check step", show=False, id="check-step"),
    Binding("e", "edit_runbook", "Edit runbook", show=False, id="edit-runbook"),
    Binding(
        "m", "runbook_document", "Runbook as document / steps", show=False, id="runbook-document"
    ),
    Binding("f", "app.forensics", "Forensics", show=False, id="forensics"),
    Binding("y", "app.replay", "Replay", show=False, id="replay"),
    Binding("n", "app.note", "Note", show=False, id="note"),
    Binding("h", "app.handover", "Hand over", show=False, id="handover"),
    Binding("u", "app.recover", "Recover", show=False, id="recover"),
    Binding("B", "app.review", "Review (blameless)", show=False, id="review"),
    Binding("A", "app.serious", "Mark serious (Art. 73)", show=False, id="serious"),
    Binding("C", "app.calibration", "Calibration", show=False, id="calibration"),
    Binding("j", "cursor_down", "Down", show=False, id="down"),
    Binding("k", "cursor_up", "Up", show=False, id="up"),
    Binding("right_square_bracket,pagedown", "older", "Older", show=False, id="older"),
    Binding("left_square_bracket,pageup", "newer", "Newer", show=False, id="newer"),
    Binding("g", "live", "Live", show=False, id="live"),
    Binding("r", "toggle_detail", "Raw line", show=False, id="detail"),
    Binding("S", "reveal_secrets", "Show secrets", show=False, id="reveal-secrets"),
    Binding("1", "panel('live')", "Live panel", show=False, id="panel-live"),
    Binding("2", "panel('incident')", "Incident panel", show=False, id="panel-incident"),
    Binding("3", "panel('runbook')", "Runbook panel", show=False, id="panel-runbook"),
    Binding("4", "panel('timeline')", "Timeline panel", show=False, id="panel-timeline"),
    Binding("5", "panel('actions')", "Action items panel", show=False, id="panel-actions"),
    Binding("w", "explain", "Explain decision", show=False, id="explain"),
]

LIST = [
    Binding("escape", "app.pop_screen", "Back", id="back"),
    Binding("j", "cursor_down", "Down", show=False, id="list-down"),
    Binding("k", "cursor_up", "Up", show=False, id="list-up"),
    Binding("right_square_bracket,pagedown", "older", "Older", id="list-older"),
    Binding("left_square_bracket,pageup", "newer", "Newer", id="list-newer"),
    Binding("g", "live", "Newest", show=False, id="list-newest"),
]

EXPLORER = [
    *LIST,
    Binding("slash", "focus_filter", "Filter", id="filter"),
    Binding("r", "toggle_detail", "Raw line", id="explorer-detail"),
    Binding("S", "reveal_secrets", "Show secrets", show=False, id="explorer-reveal-secrets"),
    Binding("w", "explain", "Explain decision", id="explorer-explain"),
]

INCIDENT_LIST = [*LIST, Binding("enter", "choose", "Make active", id="choose-incident")]

REGISTRY = [
    Binding("escape", "app.pop_screen", "Back", id="registry-back"),
    Binding("j", "cursor_down", "Down", show=False, id="registry-down"),
    Binding("k", "cursor_up", "Up", show=False, id="registry-up"),
    Binding("g", "refresh", "Look again", id="registry-refresh"),
]


EXPLAIN = [
    Binding("escape", "app.pop_screen", "Back", id="explain-back"),
    Binding("j", "scroll_down", "Down", show=False, id="explain-down"),
    Binding("k", "scroll_up", "Up", show=False, id="explain-up"),
    Binding("c", "copy_request_id", "Copy request id", id="copy-request-id"),
    Binding("m", "copy_markdown", "Copy Markdown", id="copy-markdown"),
    Binding("a", "answer_inquiry", "Answer inquiry", id="answer-inquiry"),
]

FORENSICS = [
    Binding("escape", "app.pop_screen", "Back", id="forensics-back"),
    Binding("j", "cursor_down", "Down", show=False, id="forensics-down"),
    Binding("k", "cursor_up", "Up", show=False, id="forensics-up"),
    Binding("enter", "diff", "Diff", id="forensics-diff"),
    Binding("a", "keep_finding", "Add as finding", id="keep-finding"),
    Binding("b", "take_baseline", "Take baseline", id="take-baseline"),
    Binding("g", "refresh", "Look again", show=False, id="forensics-refresh"),
]

REPLAY = [
    Binding("escape", "cancel_or_back", "Cancel / back", id="replay-back"),
    Binding("j", "next_input", "Down", show=False, id="replay-down"),
    Binding("k", "previous_input", "Up", show=False, id="replay-up"),
    Binding("right_square_bracket", "next_input", "Next input", id="replay-next"),
    Binding("left_square_bracket", "previous_input", "Previous", id="replay-previous"),
    Binding("v", "filter_verdict", "Filter verdict", id="replay-filter"),
    Binding("r", "mark_right", "Suspect right", id="replay-mark-right"),
    Binding("x", "mark_wrong", "Suspect wrong", id="replay-mark-wrong"),
    Binding("g", "run", "Run / resume", id="replay-run"),
    Binding("i", "choose_inputs", "Inputs", id="replay-inputs"),
    Binding("w", "explain", "Explain decision", id="replay-explain"),
]

LINK_DIFF = [
    Binding("escape", "app.pop_screen", "Back", id="diff-back"),
    Binding("j", "scroll_down", "Down", show=False, id="diff-down"),
    Binding("k", "scroll_up", "Up", show=False, id="diff-up"),
    Binding("right_square_bracket,pagedown", "page_down", "Page down", id="diff-page-down"),
    Binding("left_square_bracket,pageup", "page_up", "Page up", id="diff-page-up"),
]

RECOVER = [
    Binding("escape", "app.pop_screen", "Back", id="recover-back"),
    Binding("d", "decide", "Decide", id="recover-decide"),
    Binding("g", "refresh", "Look again", id="recover-refresh"),
]

REVIEW = [
    Binding("escape", "app.pop_screen", "Back", id="review-back"),
    Binding("f", "add_finding", "Finding", id="review-finding"),
    Binding("a", "add_action_item", "Action item", id="review-action-item"),
    Binding("e", "edit_runbook", "Edit runbook", id="review-edit-runbook"),
    Binding("c", "complete", "Complete", id="review-complete"),
    Binding("m", "write_report", "Write report", id="review-report"),
    Binding("j", "scroll_down", "Down", show=False, id="review-down"),
    Binding("k", "scroll_up", "Up", show=False, id="review-up"),
    Binding("g", "refresh", "Look again", show=False, id="review-refresh"),
]

CALIBRATION = [
    Binding("escape", "app.pop_screen", "Back", id="calibration-back"),
    Binding("j", "cursor_down", "Down", show=False, id="calibration-down"),
    Binding("k", "cursor_up", "Up", show=False, id="calibration-up"),
    Binding("g", "refresh", "Look again", id="calibration-refresh"),
]


@dataclass(frozen=True)
class KeyHelp:
    """One line of the help screen."""

    where: str
    keys: str
    description: str
    binding_id: str


GROUPS = (
    ("everywhere", GLOBAL),
    ("main screen", MAIN),
    ("event explorer", EXPLORER),
    ("incident list", INCIDENT_LIST),
    ("registry history", REGISTRY),
    ("explain screen", EXPLAIN),
    ("forensics", FORENSICS),
    ("replay", REPLAY),
    ("link diff", LINK_DIFF),
    ("recover", RECOVER),
    ("review", REVIEW),
    ("calibration", CALIBRATION),
)
EXTRA = (
    KeyHelp("everywhere", "ctrl+p", "Command palette: every action by name", "command_palette"),
    KeyHelp("everywhere", "tab / shift+tab", "Next / previous panel or field", "focus"),
    KeyHelp("everywhere", "enter / esc", "Choose / back or cancel", "enter"),
    KeyHelp("main screen", "enter", "Raw line, or the alert's events; toggles a step", "select"),
)


def binding_ids() -> set[str]:
    """Every id a keymap may name."""
    return {b.id for _, group in GROUPS for b in group if b.id is not None}


def key_help(keymap: dict[str, str]) -> list[KeyHelp]:
    """Every binding as the help screen lists it, with the keys the keymap gives it."""
    rows = []
    for where, group in GROUPS:
        for b in group:
            keys = keymap.get(b.id or "", b.key)
            rows.append(KeyHelp(where, _pretty(keys), b.description, b.id or ""))
    return [*rows, *EXTRA]


_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "right_square_bracket": "]",
    "left_square_bracket": "[",
    "space": "space",
}


def _pretty(keys: str) -> str:
    return " / ".join(_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def unknown_keymap_ids(keymap: dict[str, str]) -> list[str]:
    """Keymap entries that name no binding (reported at start, before the screen opens)."""
    known = binding_ids()
    return sorted(k for k in keymap if k not in known)
