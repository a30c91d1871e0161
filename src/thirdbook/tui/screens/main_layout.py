"""How the main screen lays its panels out: wide and tall terminals show every panel, narrow
or short ones one at a time (keys 1-5, or the tab line); below 80x24, a sentence instead."""

from __future__ import annotations

MIN_SIZE = (80, 24)
"""The smallest terminal the console draws its panels on (width, height)."""

PANELS = {
    "live": ("1 Live", "alerts"),
    "incident": ("2 Incident", "contain-snapshot"),
    "runbook": ("3 Runbook", "runbook"),
    "timeline": ("4 Timeline", "timeline"),
    "actions": ("5 Actions", "action-items"),
}
"""Panel name: (tab label, the id of the widget that takes focus)."""

LAYOUT_CSS = """
#incident { height: 1; padding: 0 1; background: $error 30%; text-style: bold; }
#incident.quiet { background: $panel; text-style: none; }
#actions-line { height: 1; padding: 0 1; }
#tabs { height: 1; padding: 0 1; background: $boost; }
#too-small { display: none; height: 1fr; padding: 1 2; content-align: center middle; }
.title { height: 1; padding: 0 1; background: $boost; }
#columns { layout: horizontal; height: 1fr; }
#left { width: 3fr; }
#right { width: 2fr; }
#panel-live { height: 1fr; }
AlertTable { height: auto; max-height: 7; }
#panel-incident { height: auto; }
#panel-runbook { height: 3fr; }
#panel-actions { height: auto; max-height: 8; }
#panel-timeline { height: 2fr; }
RunbookList { height: 1fr; border: none; }
ActionItemTable { height: auto; max-height: 7; }
TimelineTable { height: 1fr; }
MainScreen.-wide.-tall #tabs { display: none; }
MainScreen.-narrow #right, MainScreen.-short #right { width: 1fr; }
MainScreen.-narrow .panel, MainScreen.-short .panel { display: none; height: 1fr; }
MainScreen.-narrow .panel.current, MainScreen.-short .panel.current { display: block; }
MainScreen.-narrow #left, MainScreen.-short #left { display: none; }
MainScreen.-narrow #left.current, MainScreen.-short #left.current { display: block; }
MainScreen.-narrow #left, MainScreen.-short #left { width: 1fr; }
MainScreen.-narrow #right.hidden, MainScreen.-short #right.hidden { display: none; }
MainScreen.-narrow AlertTable, MainScreen.-short AlertTable { max-height: 5; }
MainScreen.-narrow IncidentPanel, MainScreen.-short IncidentPanel { height: 1fr; max-height: 100%; }
MainScreen.-short DriftChart { height: 4; }
MainScreen.-short #panel-live.detail-open DriftChart { display: none; }
MainScreen.-short #panel-live.detail-open AlertTable { max-height: 3; }
EventTable { min-height: 4; }
MainScreen.-narrow ActionItemTable, MainScreen.-short ActionItemTable { max-height: 100%; }
MainScreen.-too-small #columns, MainScreen.-too-small #tabs, MainScreen.-too-small #banner,
MainScreen.-too-small HealthLine { display: none; }
MainScreen.-too-small #too-small { display: block; }
"""
"""Loaded by the app (a default screen's own CSS is not loaded by Textual 8.2)."""


def too_small(width: int, height: int) -> str | None:
    """What to say when the terminal is below the size the panels need, or None."""
    need_w, need_h = MIN_SIZE
    if width >= need_w and height >= need_h:
        return None
    return (
        f"This terminal is {width}x{height}: thirdbook needs at least {need_w}x{need_h} to "
        "show its panels and actions. Make the window larger (or the font smaller); "
        "q quits."
    )
