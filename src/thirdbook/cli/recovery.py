"""Headless recovery decisions: `decide INCIDENT restore|retrain|retire`, `decisions INCIDENT`
and `rules` (the drift rules with the band overrides restores gave them)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from thirdbook.cli.common import with_services
from thirdbook.domain.recovery import RecoveryDecision
from thirdbook.domain.text import visible

_OVERRIDE = click.option(
    "--override",
    metavar="REASON",
    help="Decide before the incident is contained; the reason is recorded as a deviation.",
)


@click.group()
@click.argument("incident_id", type=int)
@click.pass_context
def decide(ctx: click.Context, incident_id: int) -> None:
    """Decide how INCIDENT recovers: restore (with conditions), retrain, or retire."""
    ctx.ensure_object(dict)["incident_id"] = incident_id


@decide.command("restore")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only requests with this attribute go to the model (also KEY>=N, KEY<N, KEY!=V); "
    "repeat for more, all must hold.",
)
@click.option(
    "--cohort",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    metavar="PCT",
    help="The share of those requests the model serves (flagd `fractional`).",
)
@click.option(
    "--outside",
    type=click.Choice(["human", "fallback", "refused"]),
    help="Where the other requests go (default: where the kill switch holds them, else human).",
)
@click.option("--band", metavar="LOW..HIGH", help="A tighter band for the model's drift rules.")
@click.option(
    "--band-expires",
    metavar="WHEN",
    help="When the band override ends: 90m, 48h, 7d, 2w or an ISO time (default 7d).",
)
@click.option("--rule", metavar="NAME", help="Tighten only this drift rule.")
@click.option("--model", help="The model restored (default: the incident's).")
@_OVERRIDE
@click.pass_context
def restore(
    ctx: click.Context,
    filters: tuple[str, ...],
    cohort: int,
    outside: str | None,
    band: str | None,
    band_expires: str | None,
    rule: str | None,
    model: str | None,
    override: str | None,
) -> None:
    """Restore the model with conditions written as flagd targeting rules, and a band."""
    incident_id = ctx.obj["incident_id"]
    decision = with_services(
        ctx,
        lambda svc: svc.recovery.restore(
            incident_id,
            filters=filters,
            cohort=cohort,
            outside=outside,
            band=band,
            band_expires=band_expires,
            rule=rule,
            model=model,
            override=override,
        ),
    )
    _said(decision)


@decide.command("retrain")
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    metavar="PATH|ID",
    help="What the retrain trains on (repeat for more).",
)
@click.option("--signer", required=True, help="Who signs the retrain off.")
@_OVERRIDE
@click.pass_context
def retrain(ctx: click.Context, data: tuple[str, ...], signer: str, override: str | None) -> None:
    """Plan a retrain: refused until the quarantine audit is signed off."""
    incident_id = ctx.obj["incident_id"]
    decision = with_services(
        ctx,
        lambda svc: svc.recovery_plans.retrain(incident_id, list(data), signer, override=override),
    )
    _said(decision)


@decide.command("retire")
@click.option(
    "--replacement",
    required=True,
    type=click.Choice(["human", "rules", "model"]),
    help="What serves instead: people, a rules engine, or another model.",
)
@click.option("--replacement-name", metavar="NAME", help="Which rules engine or model.")
@click.option(
    "--note-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The communication note (default: written in $EDITOR).",
)
@click.option("--model", help="The model retired (default: the incident's).")
@_OVERRIDE
@click.pass_context
def retire(
    ctx: click.Context,
    replacement: str,
    replacement_name: str | None,
    note_file: Path | None,
    model: str | None,
    override: str | None,
) -> None:
    """Retire the model: its replacement, the kill switch for good, and the note."""
    incident_id = ctx.obj["incident_id"]
    note = note_file.read_text(encoding="utf-8") if note_file else _edited_note(incident_id)
    decision = with_services(
        ctx,
        lambda svc: svc.recovery_plans.retire(
            incident_id,
            replacement,  # type: ignore[arg-type]
            note,
            name=replacement_name,
            model=model,
            override=override,
        ),
    )
    _said(decision)


def _edited_note(incident_id: int) -> str:
    """The communication note, written in $EDITOR (VISUAL first) from a template."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise click.ClickException("no $EDITOR is set: give the note with --note-file")
    template = (
        f"# Communication note for the retirement decided in incident #{incident_id}\n"
        "# Lines starting with # are dropped. Say who is told, what changes for them, "
        "and from when.\n"
    )
    with tempfile.TemporaryDirectory(prefix="thirdbook-note-") as folder:
        path = Path(folder) / "note.md"
        path.write_text(template, encoding="utf-8")
        if subprocess.call([*shlex.split(editor), str(path)]) != 0:
            raise click.ClickException("the editor failed: nothing was decided")
        text = path.read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def _said(decision: RecoveryDecision) -> None:
    click.echo(f"decision #{decision.id} ({decision.kind}) on incident #{decision.incident_id}")
    for part in decision.summary.split("; "):
        click.echo(f"  {visible(part, 400)}")


@click.command()
@click.argument("incident_id", type=int)
@click.pass_context
def decisions(ctx: click.Context, incident_id: int) -> None:
    """An incident's recovery decisions and their state (written, observed, expiry)."""
    states = with_services(ctx, lambda svc: svc.recovery.decisions(incident_id), access="auto")
    if not states:
        click.echo(f"incident #{incident_id} has no recovery decision yet")
    now = datetime.now(UTC)
    for s in states:
        d = s.decision
        click.echo(
            f"#{d.id} {d.kind:<8} {d.at.astimezone():%Y-%m-%d %H:%M:%S} by {visible(d.by, 40)}"
            f" · {s.state(now)}"
        )
        if d.override:
            click.echo(f"  deviation: {visible(d.override, 300)}")
        click.echo(f"  {visible(d.summary, 600)}")


@click.command()
@click.pass_context
def rules(ctx: click.Context) -> None:
    """The drift rules with their bands, and the band overrides restores gave them."""
    found = with_services(ctx, lambda svc: svc.recovery.rules(), access="auto")
    if not found:
        click.echo("no drift rules are configured ([[triggers.drift]] in thirdbook.toml)")
    now = datetime.now(UTC)
    for rule, overrides in found:
        low = "-inf" if rule.low is None else f"{rule.low:g}"
        high = "+inf" if rule.high is None else f"{rule.high:g}"
        click.echo(
            f"{visible(rule.name, 80)}: {rule.model} {rule.metric} in [{low}, {high}] "
            f"for {rule.consecutive} windows"
        )
        for o in overrides:
            state = "IN FORCE" if o.active(now) else ("expired" if o.until <= now else "pending")
            click.echo(
                f"  override {o.band} {state} from {o.since.astimezone():%Y-%m-%d %H:%M} "
                f"until {o.until.astimezone():%Y-%m-%d %H:%M} (incident #{o.incident_id}, "
                f"decision #{o.decision_id})"
            )


def register_recovery_commands(group: click.Group) -> None:
    """Add the recovery commands to the `thirdbook` group."""
    for command in (decide, decisions, rules):
        group.add_command(command)
