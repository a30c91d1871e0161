"""The Explain screen's text: one block per section of `facts()`, untrusted values wrapped
and made visible, JSON pretty-printed, what is missing or mismatched shown loudly."""

from __future__ import annotations

import json
from itertools import groupby

from rich.text import Text

from thirdbook.domain.explain_render import MISSING, facts
from thirdbook.domain.explanation import Explanation
from thirdbook.tui.safe_text import safe, safe_prose

LOUD = "bold white on red"
GOOD = "bold green"
TITLES = {
    "decision": "The decision",
    "1 model": "1. Model version",
    "2 prompt": "2. Prompt as sent",
    "3 response": "3. Response",
    "4 action": "4. Downstream action",
    "route": "Route and why",
    "inquiry": "The inquiry",
    "trace": "Its OpenTelemetry trace (spans joined, and what never arrived)",
    "related": "Feedback, agent actions and inquiries naming it",
    "cited by": "Alerts and incidents citing it",
    "snapshot": "Snapshots holding it (events object hash)",
}


def pretty(value: str) -> str:
    """A JSON object or list indented for reading; any other text as it is."""
    text = value.strip()
    if text[:1] in "{[" and text[-1:] in "}]":
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return value
    return value


def verdict(e: Explanation) -> Text:
    """The first thing read: what is missing, and a weights mismatch, loudly."""
    out = Text()
    missing = e.missing()
    if missing:
        out.append(f" MISSING: {', '.join(missing)} ", style=LOUD)
        out.append(" — not everything about this decision is on tape")
    else:
        out.append("All four on tape: model version, prompt, response, downstream action", GOOD)
    if e.model.check == "MISMATCH":
        out.append("\n")
        out.append(" !!! WEIGHTS MISMATCH ", style=LOUD)
        out.append(" the logged weights hash is not the one the registry held then: ")
        out.append_text(safe(e.model.check_note, 300))
    return out


def sections(e: Explanation) -> list[Text]:
    """Each section as one wrapping block: its title, then `label: value` per fact."""
    blocks = []
    for sec, rows in groupby(facts(e), key=lambda row: row[0]):
        block = Text(TITLES.get(sec, sec), style="bold underline")
        for _, label, value in rows:
            block.append("\n")
            block.append_text(safe(label, 120, style="bold"))
            block.append(": ")
            loud = MISSING in value or "MISMATCH" in value or (sec, label) == ("trace", "missing")
            shown = pretty(value)
            if "\n" in shown:
                block.append("\n")
            block.append_text(safe_prose(shown, style=LOUD if loud else ""))
        blocks.append(block)
    return blocks
