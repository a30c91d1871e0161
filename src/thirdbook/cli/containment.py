"""Headless containment: snapshot first, then the kill switch, a rollback or a quarantine;
each with a dry run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from thirdbook.cli.common import with_services
from thirdbook.domain.evidence import CHECKLIST
from thirdbook.domain.text import visible

if TYPE_CHECKING:
    from thirdbook.services.factory import Services


@click.command()
@click.argument("incident_id", type=int)
@click.pass_context
def snapshot(ctx: click.Context, incident_id: int) -> None:
    """Snapshot an incident's window of interest as evidence (do this before containment)."""
    record = with_services(
        ctx,
        lambda svc: svc.containment.snapshot(
            incident_id, lambda step: click.echo(f"  {step}", err=True)
        ),
    )
    captured, missing = record.captured(), record.missing()
    for kind, label in CHECKLIST:
        size = captured.get(kind)
        why = f" ({visible(missing[kind], 160)})" if kind in missing else ""
        state = f"MISSING{why}" if size is None else f"captured, {size:,} bytes"
        click.echo(f"  {label:<30} {state}")
    click.echo(f"snapshot #{record.id} complete; manifest sha256:{record.manifest_sha256}")


@click.command("kill-switch")
@click.argument("incident_id", type=int)
@click.option(
    "--mode",
    type=click.Choice(["human", "fallback", "refuse", "model"]),
    required=True,
    help="Where the model's traffic goes instead ('model': back to "
    "the model, once it is recovered).",
)
@click.option("--model", help="The model to route away from (default: the incident's).")
@click.option(
    "--override",
    metavar="REASON",
    help="Act without a complete snapshot; the reason is recorded as a deviation.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.pass_context
def kill_switch(
    ctx: click.Context,
    incident_id: int,
    mode: str,
    model: str | None,
    override: str | None,
    dry_run: bool,
) -> None:
    """Flip the kill switch: the flagd flag stays ENABLED and routes away from the model."""
    if dry_run:
        _show(
            with_services(
                ctx,
                lambda svc: svc.containment.preview(
                    incident_id,
                    "kill-switch",
                    mode=mode,  # type: ignore[arg-type]
                    model=model,
                    override=override,
                ),
                access="auto",
            )
        )
        return
    written = with_services(
        ctx,
        lambda svc: svc.containment.kill_switch(
            incident_id,
            mode,  # type: ignore[arg-type]
            model=model,
            override=override,
        ),
    )
    if written.path is None:
        click.echo(f"kill switch: routed to {mode} by its hooks")
        return
    click.echo(
        f"kill switch written: routed to {mode} in {visible(str(written.path))}; flag "
        f"file sha256 {written.before[:16]}… → {written.after[:16]}…"
    )


@click.command()
@click.argument("incident_id", type=int)
@click.option("--to", "to", metavar="VERSION", help="Default: the newest known-good version.")
@click.option("--model", help="The model to roll back (default: the incident's).")
@click.option(
    "--override",
    metavar="REASON",
    help="Act without a complete snapshot; the reason is recorded as a deviation.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.pass_context
def rollback(
    ctx: click.Context,
    incident_id: int,
    to: str | None,
    model: str | None,
    override: str | None,
    dry_run: bool,
) -> None:
    """Point the model's serving alias at a known-good version (the failing one is kept)."""
    if dry_run:
        _show(
            with_services(
                ctx,
                lambda svc: svc.containment.preview(
                    incident_id, "rollback", model=model, override=override
                ),
                access="auto",
            )
        )
        return
    plan = with_services(
        ctx,
        lambda svc: svc.containment.rollback(incident_id, to=to, model=model, override=override),
    )
    click.echo(
        f"rolled back: {plan.model} serving {plan.from_version} → {plan.to_version} "
        f"(weights {plan.weights_hash})"
    )


@click.group()
def quarantine() -> None:
    """Quarantine training data and fine-tunes so a retrain refuses them."""


@quarantine.command("add")
@click.argument("incident_id", type=int)
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--override",
    metavar="REASON",
    help="Act without a complete snapshot; the reason is recorded as a deviation.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.pass_context
def quarantine_add(
    ctx: click.Context,
    incident_id: int,
    targets: tuple[str, ...],
    override: str | None,
    dry_run: bool,
) -> None:
    """Quarantine TARGETS (files, directories, or ids) for an incident."""
    if dry_run:
        _show(
            with_services(
                ctx,
                lambda svc: svc.quarantine.preview(incident_id, targets, override),
                access="auto",
            )
        )
        return
    found = with_services(
        ctx, lambda svc: svc.quarantine.add(incident_id, list(targets), override=override)
    )
    for entry in found:
        click.echo(
            f"quarantined {entry.kind} {visible(entry.target)}"
            f"{'' if entry.sha256 is None else ' sha256:' + entry.sha256}"
        )


@quarantine.command("check")
@click.argument("target")
@click.pass_context
def quarantine_check(ctx: click.Context, target: str) -> None:
    """Exit 1 if TARGET (a path or an id) is quarantined, so a retrain pipeline can refuse it."""

    async def look(svc: Services) -> tuple[list[tuple[int, str, str]], dict[int, Any]]:
        return await svc.quarantine.check(target), await svc.quarantine.audited()

    found, audited = with_services(ctx, look, access="auto")
    held = False
    for incident_id, entry, kind in found:
        signed = audited.get(incident_id)
        if signed is None:
            held = True
            click.echo(f"QUARANTINED by incident #{incident_id}: {kind} {visible(entry)}")
        else:
            click.echo(
                f"AUDITED (quarantined by incident #{incident_id}, audit signed off by "
                f"{visible(signed.by, 40)} at {signed.at.astimezone():%Y-%m-%d %H:%M}: "
                f"{visible(signed.reason, 200)}): {kind} {visible(entry)}"
            )
    if held:
        raise SystemExit(1)
    if not found:
        click.echo(f"not quarantined: {visible(target)}")


@quarantine.command("sign-off")
@click.argument("incident_id", type=int)
@click.option("--reason", required=True, help="What the audit found (it is recorded).")
@click.pass_context
def quarantine_sign_off(ctx: click.Context, incident_id: int, reason: str) -> None:
    """Sign off INCIDENT's quarantine audit: a retrain may then be planned, and `quarantine
    check` names its entries as audited (exit 0) instead of quarantined (exit 1)."""
    signed = with_services(ctx, lambda svc: svc.quarantine.sign_off(incident_id, reason))
    click.echo(
        f"incident #{incident_id}'s quarantine audit signed off by {visible(signed.by, 40)}: "
        f"{visible(signed.reason, 200)}"
    )


def _show(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"dry run: {visible(line)}")
    click.echo("dry run: nothing was changed")


def register_containment_commands(group: click.Group) -> None:
    """Add the containment commands to the `thirdbook` group."""
    for command in (snapshot, kill_switch, rollback, quarantine):
        group.add_command(command)
