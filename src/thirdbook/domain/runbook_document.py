"""A runbook as a document to read: its Markdown as written, with each step's box as the
incident has it.

The checklist and the document must never disagree, so a step's box in the document is the
incident's check (not what the file says), and the `{action: ...}` marker, which is not part
of the step's text, is left out as the checklist leaves it out.
"""

from __future__ import annotations

from collections.abc import Collection

from thirdbook.domain.runbooks import STEP_LINE, Runbook, RunbookError, step_actions, step_key


def document(runbook: Runbook, checked: Collection[str]) -> str:
    """The runbook's Markdown with `[x]` on the steps whose keys are in `checked` and `[ ]`
    on the others."""
    shown = []
    for line in runbook.body.splitlines():
        step = STEP_LINE.match(line)
        if step is None:
            shown.append(line)
            continue
        try:
            text, _ = step_actions(step["text"])
        except RunbookError:  # not from this runbook's own parse: kept as written
            shown.append(line)
            continue
        box = "[x]" if step_key(text) in checked else "[ ]"
        shown.append(f"{step['bullet']}{box} {text}")
    return "\n".join(shown)
