"""$VISUAL / $EDITOR from the console (the app suspends while it runs), and the runbook edit
that both the main screen's and the Review screen's `e` make: edit, reload, record."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from thirdbook.domain.errors import StoreError, TriageRefusedError
from thirdbook.domain.text import visible
from thirdbook.services.factory import Services

Editor = Callable[[App[Any], Path], str | None]
"""Edits a file while the app is suspended; why it could not, or None when it ran."""


def run_editor(app: App[Any], path: Path) -> str | None:
    """Edit `path` in $VISUAL, else $EDITOR, else vi, the app suspended meanwhile."""
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    try:
        with app.suspend():
            subprocess.run([*editor, str(path)], check=False)
    except Exception as exc:  # SuspendNotSupported, a missing editor
        return f"Cannot open the editor: {exc}"
    return None


async def edit_runbook(
    app: App[Any],
    service: Services,
    incident_id: int,
    name: str,
    editor: Editor = run_editor,
) -> bool:
    """Edit the incident's runbook (one's own copy), reload the library, and put the edit on
    the timeline for the review; whether the editor ran."""
    library = service.triage.runbooks
    path = library.editable_path(name)
    failed = editor(app, path)
    if failed is not None:
        app.notify(failed, severity="error")
        return False
    library.reload()
    for problem in library.problems:
        app.notify(visible(problem), severity="error", timeout=10)
    app.notify(f"Reloaded runbook {visible(name)} from {visible(str(path))}")
    try:
        recorded = await service.review.runbook_edited(incident_id)
    except (TriageRefusedError, StoreError) as exc:  # read-only: the edit is kept, not recorded
        app.notify(f"Runbook edit not recorded: {exc}", severity="warning")
        return True
    if recorded is not None:
        app.notify(visible(recorded[:1].upper() + recorded[1:]))
    return True
