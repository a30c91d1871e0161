"""`thirdbook replay INCIDENT` and `thirdbook replay-mark RUN REQUEST_ID right|wrong`."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict
from typing import Any

import click

from thirdbook.cli.common import context_of, run_async
from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.domain.text import terminal_json, visible
from thirdbook.services.factory import open_services
from thirdbook.services.replay import Mark, Progress, ReplayLine, ReplayOutcome

CANCELLED_EXIT = 130
"""A replay stopped by Ctrl-C (what it answered is kept; running it again resumes)."""


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        version, eq, url = pair.partition("=")
        if not eq or not version or not url.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"{pair!r}: give VERSION=URL, e.g. v6=http://127.0.0.1:8000/v1",
                param_hint="--endpoint",
            )
        found[version] = url
    return found


class _ProgressLine:
    """done/total, failures and ETA on stderr: redrawn in place on a terminal, else a line
    at most every second."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        final = progress.done == progress.total
        if not final and now - self.last < (0.1 if self.tty else 1.0):
            return
        self.last = now
        eta = progress.eta_s()
        text = f"replay: {progress.done}/{progress.total} answered, {progress.failed} failed" + (
            "" if eta is None else f", ETA {eta:.0f} s"
        )
        if self.tty:
            click.echo(f"\r{text}\x1b[K", err=True, nl=final)
        else:
            click.echo(text, err=True)


def _line(line: ReplayLine, outcome: ReplayOutcome) -> str:
    run = outcome.run

    def said(decision: str | None, error: str | None) -> str:
        return visible(decision if decision is not None else f"failed ({error or 'no answer'})")

    expected = "none" if line.expected is None else f"{line.expected} ({line.expected_source})"
    return (
        f"{visible(line.request_id)}  {visible(run.known_good)}: "
        f"{said(line.known_good, line.known_good_error)}  {visible(run.suspect)}: "
        f"{said(line.suspect, line.suspect_error)}  expected: {visible(expected)}  "
        f"{line.verdict.value}"
    )


def _summary(outcome: ReplayOutcome) -> str:
    run = outcome.run
    counts = ", ".join(f"{n} {v}" for v, n in run.counts.items())
    skipped = "".join(f"; {n} skipped: {visible(r)}" for r, n in run.skipped.items())
    return (
        f"replay #{run.id} of incident #{run.incident_id}, {visible(run.known_good)} (known "
        f"good) against {visible(run.suspect)}: {run.verdict or 'inconclusive'} ({counts})"
        f"{skipped}"
    )


def _as_json(outcome: ReplayOutcome) -> dict[str, Any]:
    lines = [{**asdict(line), "verdict": line.verdict.value} for line in outcome.lines]
    return {
        "run": outcome.run.model_dump(mode="json"),
        "cancelled": outcome.cancelled,
        "inputs": lines,
    }


def _show(outcome: ReplayOutcome, as_json: bool) -> None:
    if as_json:
        click.echo(terminal_json(_as_json(outcome)))
        return
    for line in outcome.lines:
        click.echo(_line(line, outcome))
    if outcome.cancelled:
        click.echo(
            f"replay #{outcome.run.id} cancelled: {len(outcome.lines)} inputs answered so far "
            "are kept; run it again to resume"
        )
    else:
        click.echo(_summary(outcome))


@click.command()
@click.argument("incident_id", type=int)
@click.option(
    "--inputs",
    metavar="SPEC",
    help="alert:ID, file:PATH (request ids, one a line) or filter:'key:value …' "
    "(default: the suspect's decisions in the incident's window, feedback-named first).",
)
@click.option("--known-good", metavar="VERSION", help="Default: the registry's newest known good.")
@click.option("--suspect", metavar="VERSION", help="Default: the incident's model version.")
@click.option(
    "--endpoint",
    "endpoints",
    metavar="VERSION=URL",
    multiple=True,
    help="Where VERSION answers (OpenAI-compatible base URL), over [replay.endpoints].",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the run and its inputs.")
@click.pass_context
def replay(
    ctx: click.Context,
    incident_id: int,
    inputs: str | None,
    known_good: str | None,
    suspect: str | None,
    endpoints: tuple[str, ...],
    as_json: bool,
) -> None:
    """Replay INCIDENT's decisions, as logged, against the known-good and suspect versions:
    each input's decisions, expected outcome and verdict, then the run's verdict (regression
    in the model change, upstream, not reproduced or inconclusive). Ctrl-C cancels; running
    it again resumes without sending an answered input again."""
    overrides = _overrides(endpoints)
    context = context_of(ctx)

    async def go(stop: asyncio.Event) -> ReplayOutcome:
        services = await open_services(context)
        try:
            return await services.replay.run(
                incident_id,
                inputs=inputs,
                known_good=known_good,
                suspect=suspect,
                endpoints=overrides,
                on_progress=_ProgressLine(),
                cancel=stop,
            )
        finally:
            await services.close()

    outcome = _guarded(lambda: run_async(go))
    _show(outcome, as_json)
    if outcome.cancelled:
        raise SystemExit(CANCELLED_EXIT)


@click.command("replay-mark")
@click.argument("run_id", type=int)
@click.argument("request_id")
@click.argument("mark", type=click.Choice(["right", "wrong"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the run and its inputs.")
@click.pass_context
def replay_mark(ctx: click.Context, run_id: int, request_id: str, mark: str, as_json: bool) -> None:
    """Mark the suspect's answer to REQUEST_ID in replay RUN right or wrong (the expected
    outcome where no feedback or check says it); the run's verdict is recomputed."""
    context = context_of(ctx)
    chosen: Mark = "right" if mark == "right" else "wrong"

    async def go(stop: asyncio.Event) -> ReplayOutcome:
        services = await open_services(context)
        try:
            return await services.replay.mark(run_id, request_id, chosen)
        finally:
            await services.close()

    _show(_guarded(lambda: run_async(go)), as_json)


def _guarded(work: Any) -> ReplayOutcome:
    try:
        outcome: ReplayOutcome = work()
    except ActionFailedError as exc:
        raise click.ClickException(f"failed: {visible(str(exc))}") from exc
    except TriageRefusedError as exc:
        raise click.ClickException(f"refused: {visible(str(exc))}") from exc
    return outcome


def register_replay_commands(group: click.Group) -> None:
    """Add `replay` and `replay-mark` to the `thirdbook` group."""
    group.add_command(replay)
    group.add_command(replay_mark)
