"""Headless evidence commands: verify the audit chain, export its checkpoint, list records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from thirdbook.actuators.rollback import RollbackPlan
from thirdbook.cli.common import context_of, run_async, with_console
from thirdbook.domain.audit import AuditRecord, ChainHead
from thirdbook.domain.evidence import CHECKLIST, SnapshotRecord
from thirdbook.domain.text import terminal_json, visible
from thirdbook.evidence.chain import CheckpointError, read_checkpoint, write_checkpoint
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.verify import StoreCheck, verify_store
from thirdbook.store import Store


@click.command()
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(path_type=Path),
    help="A checkpoint exported earlier: detects a store rolled back past it.",
)
@click.pass_context
def verify(ctx: click.Context, checkpoint_file: Path | None) -> None:
    """Re-check the audit chain, every evidence object, the snapshot index against the chain,
    and every event's raw bytes against the batch chain; exit 1 naming the first bad one."""
    context = context_of(ctx)
    try:
        checkpoint = None if checkpoint_file is None else read_checkpoint(checkpoint_file)
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from exc

    async def go(stop: asyncio.Event) -> StoreCheck:
        store = await Store.open(context.store_path, access="auto")
        try:
            return await verify_store(
                store, ObjectStore(context.store_path.parent / "evidence"), checkpoint
            )
        finally:
            await store.close()

    check = run_async(go)
    for problem in check.chain:
        click.echo(f"FAILED at audit record {problem.seq}: {problem.reason}", err=True)
    for line in check.evidence:
        click.echo(f"FAILED evidence: {line}", err=True)
    events = check.events
    for line in events.problems:
        click.echo(f"FAILED events: {line}", err=True)
    if events.more_problems:
        click.echo(f"FAILED events: and {events.more_problems:,} more problem(s)", err=True)
    if check.chain or check.evidence or events.problems:
        raise SystemExit(1)
    records = 0 if check.head is None else check.head.seq
    against = "" if checkpoint is None else f", and holds checkpoint {checkpoint.seq}"
    before = ""
    if events.predating_events or events.predating_rejects:
        before = (
            f"; {events.predating_events:,} events and {events.predating_rejects:,} "
            "rejects predate the batch chain (stored before it, so not re-hashed)"
        )
    click.echo(
        f"audit chain ok: {records} records{against}; evidence ok: {check.snapshots} "
        f"complete snapshot(s), every object re-hashed and the index matching the "
        f"chain; events ok: {events.events:,} events and {events.rejects:,} rejects "
        f"in {events.batches - 1:,} batch(es) re-hashed{before}"
    )


@click.command()
@click.argument("incident_id", type=int)
@click.pass_context
def snapshot(ctx: click.Context, incident_id: int) -> None:
    """Snapshot an incident's window of interest as evidence (do this before containment)."""
    record: SnapshotRecord = with_console(
        ctx, lambda svc: svc.snapshot(incident_id, lambda step: click.echo(f"  {step}", err=True))
    )
    captured, missing = record.captured(), record.missing()
    for kind, label in CHECKLIST:
        size = captured.get(kind)
        why = f" ({visible(missing[kind], 160)})" if kind in missing else ""
        state = f"MISSING{why}" if size is None else f"captured, {size:,} bytes"
        click.echo(f"  {label:<30} {state}")
    click.echo(f"snapshot #{record.id} complete; manifest sha256:{record.manifest_sha256}")


@click.command()
@click.option("--out", type=click.Path(path_type=Path), help="Also write it to this file.")
@click.pass_context
def checkpoint(ctx: click.Context, out: Path | None) -> None:
    """Print the audit chain's head (sequence number and hash) to keep somewhere else."""
    context = context_of(ctx)

    async def go(stop: asyncio.Event) -> ChainHead | None:
        store = await Store.open(context.store_path, access="auto")
        try:
            return await store.audit.head()
        finally:
            await store.close()

    head = run_async(go)
    if head is None:
        raise click.ClickException("the audit chain is empty: nothing has been done yet")
    click.echo(terminal_json({"seq": head.seq, "hash": head.hash}))
    if out is not None:
        write_checkpoint(head, out)


@click.command()
@click.option("--incident", "incident_id", type=int, help="Only this incident's records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit(ctx: click.Context, incident_id: int | None, as_json: bool) -> None:
    """The audit records: every action, done, refused, failed or interrupted, with who."""
    context = context_of(ctx)

    async def go(stop: asyncio.Event) -> list[AuditRecord]:
        store = await Store.open(context.store_path, access="auto")
        try:
            if incident_id is not None:
                return await store.audit.for_incident(incident_id)
            return [r async for page in store.audit.walk() for r in page]
        finally:
            await store.close()

    for record in run_async(go):
        if as_json:
            click.echo(
                terminal_json(
                    {
                        "seq": record.seq,
                        "hash": record.hash,
                        "prev_hash": record.prev_hash,
                        **record.content,
                    }
                )
            )
            continue
        actor = record.content.get("actor", {})
        detail = json.dumps(record.content.get("detail", {}), ensure_ascii=False)
        click.echo(
            f"{record.seq:>6} {record.at:%Y-%m-%d %H:%M:%S}Z "
            f"{visible(str(actor.get('user', '?')))} ({visible(str(actor.get('origin')))}) "
            f"{record.content.get('action')} {record.content.get('outcome')} "
            f"{visible(detail, 200)}"
        )


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
            with_console(
                ctx,
                lambda svc: svc.preview(
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
    written = with_console(
        ctx,
        lambda svc: svc.kill_switch(
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
            with_console(
                ctx,
                lambda svc: svc.preview(incident_id, "rollback", model=model, override=override),
                access="auto",
            )
        )
        return
    plan: RollbackPlan = with_console(
        ctx, lambda svc: svc.rollback(incident_id, to=to, model=model, override=override)
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
            with_console(
                ctx,
                lambda svc: svc.preview(
                    incident_id, "quarantine", override=override, targets=targets
                ),
                access="auto",
            )
        )
        return
    found = with_console(
        ctx, lambda svc: svc.quarantine(incident_id, list(targets), override=override)
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
    found = with_console(ctx, lambda svc: svc.quarantined(target), access="auto")
    for incident_id, entry, kind in found:
        click.echo(f"QUARANTINED by incident #{incident_id}: {kind} {visible(entry)}")
    if found:
        raise SystemExit(1)
    click.echo(f"not quarantined: {visible(target)}")


def _show(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"dry run: {visible(line)}")
    click.echo("dry run: nothing was changed")


def register_evidence_commands(group: click.Group) -> None:
    """Add the evidence commands to the `thirdbook` group."""
    for command in (verify, checkpoint, audit, snapshot, kill_switch, rollback, quarantine):
        group.add_command(command)
