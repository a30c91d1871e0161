"""What the Replay screen shows, as Rich `Text` built from untrusted strings: the progress
line, the run's verdict, a row per input, and one input side by side (its request as sent,
the known-good and suspect answers, the expected outcome and the verdict)."""

from __future__ import annotations

import json

from rich.text import Text

from thirdbook.domain.replay import ReplayRun
from thirdbook.services.replay import Progress, ReplayDetail, ReplayLine, ReplayOutcome, Verdict
from thirdbook.services.replay_detail import VersionAnswer
from thirdbook.tui.clock_text import local
from thirdbook.tui.safe_text import safe, safe_prose

SHORT = {
    Verdict.REGRESSION: "REGRESSION",
    Verdict.UPSTREAM: "UPSTREAM",
    Verdict.NOT_REPRODUCED: "not reproduced",
    Verdict.INCONCLUSIVE: "inconclusive",
}
"""A verdict in the table's narrow column, the ones that need action in capitals (they
must read without colour)."""

STYLE = {
    Verdict.REGRESSION: "bold red",
    Verdict.UPSTREAM: "bold yellow",
    Verdict.NOT_REPRODUCED: "green",
    Verdict.INCONCLUSIVE: "dim",
}

FILTERS: tuple[Verdict | None, ...] = (None, *Verdict)
"""What `v` steps through: every input, then each verdict."""


def progress_text(progress: Progress) -> str:
    """`37/120 answered · 2 failed · ETA 12 s`."""
    eta = progress.eta_s()
    text = f"{progress.done}/{progress.total} answered · {progress.failed} failed"
    if progress.done < progress.total:
        text += " · ETA " + ("…" if eta is None else f"{eta:.0f} s")
    return text


def said(decision: str | None, error: str | None) -> Text:
    """A version's decision, or that it failed."""
    if decision is not None:
        return safe(decision, 30)
    return Text("failed" if error and error != "not answered yet" else "…", style="italic")


def row_cells(line: ReplayLine) -> tuple[Text, ...]:
    """One input's row: request id, both decisions, expected, verdict."""
    expected = Text("none", style="dim") if line.expected is None else safe(line.expected, 24)
    return (
        safe(line.request_id, 40),
        said(line.known_good, line.known_good_error),
        said(line.suspect, line.suspect_error),
        expected,
        Text(SHORT[line.verdict], style=STYLE[line.verdict]),
    )


def run_title(incident_id: int, run: ReplayRun | None, known: tuple[str, str] | None) -> Text:
    """`Replay — incident #1: v6 (known good) against v7 (suspect) · inputs window · run #2`."""
    text = Text(f"Replay — incident #{incident_id}", style="bold")
    pair = (run.known_good, run.suspect) if run is not None else known
    if pair is not None:
        text.append(": ")
        text.append_text(safe(pair[0], 30, "bold"))
        text.append(" (known good) against ")
        text.append_text(safe(pair[1], 30, "bold"))
        text.append(" (suspect)")
    if run is not None:
        text.append(" · inputs ")
        text.append_text(safe(run.inputs, 40))
        text.append(f" · run #{run.id}")
    text.no_wrap, text.overflow = False, "fold"
    return text


def verdict_text(outcome: ReplayOutcome) -> Text:
    """The run's verdict and counts, and what was skipped."""
    run = outcome.run
    text = Text(no_wrap=False, overflow="fold")
    if outcome.cancelled or run.status == "cancelled":
        text.append("CANCELLED", style="bold")
        text.append(f": {len(outcome.lines)} inputs answered so far are kept — g resumes")
    elif run.status == "running":
        text.append("running…", style="italic")
    else:
        verdict = Verdict(run.verdict or Verdict.INCONCLUSIVE.value)
        text.append("Verdict: ", style="bold")
        text.append(verdict.value.upper(), style=STYLE[verdict])
        counts = ", ".join(f"{n} {v}" for v, n in run.counts.items() if n)
        text.append(f" ({counts})" if counts else "")
        if run.finished is not None:
            text.append(f" · finished {local(run.finished):%H:%M:%S}")
    skipped = sum(run.skipped.values())
    if skipped:
        reasons = "; ".join(f"{n} {r}" for r, n in run.skipped.items())
        text.append(f"\n{skipped} skipped: ")
        text.append_text(safe(reasons, 160))
    return text


def filter_text(chosen: Verdict, shown: int, total: int) -> Text:
    """`filter: upstream — 12 of 241 inputs (v: next)`."""
    text = Text("filter: ", style="bold")
    text.append(chosen.value)
    text.append(f" — {shown} of {total} inputs (v: next)")
    return text


def _answer(answer: VersionAnswer, role: str) -> Text:
    text = Text(no_wrap=False, overflow="fold")
    text.append_text(safe(answer.version, 30, "bold"))
    text.append(f" ({role})\n", style="bold")
    if answer.decision is not None:
        text.append("decision: ")
        text.append_text(safe(answer.decision, 60, "bold"))
        text.append("\n")
    if answer.error is not None:
        text.append("failed: ", style="bold")
        text.append_text(safe_prose(answer.error, 600))
        text.append("\n")
    if answer.text:
        text.append_text(safe_prose(_pretty(answer.text), 4000))
        text.append("\n")
    for call in answer.tool_calls:
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = str((fn or {}).get("name", "?"))
        text.append("tool call (shown, not run): ", style="italic")
        text.append_text(safe(name, 60))
        text.append(" ")
        text.append_text(safe(str((fn or {}).get("arguments", "")), 300))
        text.append("\n")
    if answer.endpoint is not None:
        text.append("from ", style="dim")
        text.append_text(safe(answer.endpoint, 80, "dim"))
    return text


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=1, ensure_ascii=False)
    except ValueError:
        return text


def input_text(detail: ReplayDetail) -> Text:
    """The request as sent: each chat message with its role."""
    text = Text(no_wrap=False, overflow="fold")
    text.append("Input ", style="bold")
    text.append_text(safe(detail.request_id, 60, "bold"))
    text.append(" (as logged, sent to both)\n")
    if not detail.messages:
        text.append("(the request object could not be read)", style="italic")
    for message in detail.messages:
        text.append_text(safe(message["role"], 20, "dim"))
        text.append(": ", style="dim")
        text.append_text(safe_prose(message["content"], 1200))
        text.append("\n")
    text.rstrip()
    return text


def side_by_side(detail: ReplayDetail) -> tuple[Text, Text]:
    """The known-good answer and the suspect answer."""
    return _answer(detail.known_good, "known good"), _answer(detail.suspect, "suspect")


def expected_text(detail: ReplayDetail) -> Text:
    """`Expected: approve (feedback) · verdict: REGRESSION IN THE MODEL CHANGE`."""
    text = Text(no_wrap=False, overflow="fold")
    text.append("Expected: ", style="bold")
    if detail.expected is None:
        text.append("none logged — r: the suspect was right, x: it was wrong")
    else:
        text.append_text(safe(detail.expected, 60))
        text.append_text(safe(f" ({detail.expected_source or 'unknown'})", 40))
    text.append(" · verdict: ")
    text.append(detail.verdict.value.upper(), style=STYLE[detail.verdict])
    return text
