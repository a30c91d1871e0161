"""Headless evidence commands: verify the store, export the audit chain's checkpoint, list
its records."""

from __future__ import annotations

import json
from pathlib import Path

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain.audit import AuditRecord
from thirdbook.domain.errors import CheckpointError
from thirdbook.domain.text import terminal_json
from thirdbook.services.verify import VerifyService


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
    try:
        checkpoint = (
            None if checkpoint_file is None else VerifyService.read_checkpoint(checkpoint_file)
        )
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from exc
    check = with_services(ctx, lambda svc: svc.verify.store_and_evidence(checkpoint), access="auto")
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
@click.option("--out", type=click.Path(path_type=Path), help="Also write it to this file.")
@click.pass_context
def checkpoint(ctx: click.Context, out: Path | None) -> None:
    """Print the audit chain's head (sequence number and hash) to keep somewhere else."""
    head = with_services(ctx, lambda svc: svc.queries.audit_head(), access="auto")
    if head is None:
        raise click.ClickException("the audit chain is empty: nothing has been done yet")
    click.echo(terminal_json({"seq": head.seq, "hash": head.hash}))
    if out is not None:
        VerifyService.write_checkpoint(head, out)


AUDIT_COLUMNS = (
    Column("seq", right=True),
    Column("at (UTC)"),
    Column("user", limit=40),
    Column("origin", limit=60),
    Column("action"),
    Column("outcome"),
    Column("incident"),
    Column("detail", limit=200, fold=True),
)


@click.command()
@click.option("--incident", "incident_id", type=int, help="Only this incident's records.")
@json_option
@click.pass_context
def audit(ctx: click.Context, incident_id: int | None, as_json: bool) -> None:
    """The audit records, oldest first: every action, done, refused, failed or interrupted,
    with who. Their JSON is the records as chained (`seq`, `hash`, `prev_hash` and the
    hashed content), so it can be re-hashed."""
    records = with_services(ctx, lambda svc: svc.queries.audit_records(incident_id), access="auto")
    if as_json:
        echo_json(
            (
                {"seq": r.seq, "hash": r.hash, "prev_hash": r.prev_hash, **r.content}
                for r in records
            ),
            empty="no audit records",
        )
        return
    show_rows(AUDIT_COLUMNS, (_audit_row(record) for record in records), empty="no audit records")


def _audit_row(record: AuditRecord) -> tuple[str, ...]:
    content = record.content
    actor = content.get("actor")
    actor = actor if isinstance(actor, dict) else {}
    incident = content.get("incident")
    return (
        str(record.seq),
        f"{record.at:%Y-%m-%d %H:%M:%S}",
        str(actor.get("user", "?")),
        str(actor.get("origin", "?")),
        str(content.get("action")),
        str(content.get("outcome")),
        "" if incident is None else f"#{incident}",
        json.dumps(content.get("detail", {}), ensure_ascii=False),
    )


def register_evidence_commands(group: click.Group) -> None:
    """Add the evidence commands to the `thirdbook` group."""
    for command in (verify, checkpoint, audit):
        group.add_command(command)
