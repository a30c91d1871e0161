"""Evidence bundles from the command line: `export` an incident, `verify-bundle` offline."""

from __future__ import annotations

from pathlib import Path

import click

from thirdbook.cli.common import with_services
from thirdbook.domain.errors import BundleError
from thirdbook.domain.text import visible
from thirdbook.services.export import ExportService


@click.command()
@click.argument("incident_id", type=int)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write it (default: ./thirdbook-incident-N.tar.gz).",
)
@click.option(
    "--reveal-secrets",
    "reveal",
    metavar="REASON",
    help="Leave secrets unmasked; the reason goes in the audit chain.",
)
@click.pass_context
def export(ctx: click.Context, incident_id: int, out: Path | None, reveal: str | None) -> None:
    """Write INCIDENT's evidence bundle (tar.gz): manifests, objects, its audit chain slice,
    the timeline, and a README on verifying it. Secrets are masked unless --reveal-secrets."""
    out = out or Path(f"thirdbook-incident-{incident_id}.tar.gz")
    if out.exists():
        raise click.ClickException(f"{out} exists: evidence is never overwritten; choose --out")
    sha = with_services(
        ctx,
        lambda svc: svc.export.export(
            incident_id, out, reveal=reveal, progress=lambda step: click.echo(f"  {step}", err=True)
        ),
    )
    click.echo(
        f"wrote {visible(str(out))} ({out.stat().st_size} bytes); MANIFEST.json sha256 "
        f"{sha} (recorded in the audit chain)"
    )


@click.command("verify-bundle")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def verify_bundle_command(bundle: Path) -> None:
    """Verify an evidence bundle offline: every file against MANIFEST.json, every object
    against its name, the snapshot manifests, and the audit chain slice. Exit 1 on any
    problem; a bundle with a path escaping its folder, or a link, is refused unread."""
    try:
        check = ExportService.verify_bundle(bundle)
    except BundleError as exc:
        raise click.ClickException(f"refused: {visible(str(exc))}") from exc
    for problem in check.problems:
        click.echo(f"FAIL {visible(problem.where)}: {visible(problem.problem)}")
    if check.more_problems:
        click.echo(f"FAIL and {check.more_problems} more problem(s)")
    if check.problems:
        raise SystemExit(1)
    manifest = check.manifest
    masked = f" ({len(manifest.masked)} objects are masked copies)" if manifest.masked else ""
    click.echo(
        f"ok: incident #{manifest.incident}, {len(manifest.files)} files verified; "
        f"secrets {manifest.secrets}{masked}; MANIFEST.json sha256 "
        f"{check.manifest_sha256}"
    )


def register_export_commands(group: click.Group) -> None:
    """Add `export` and `verify-bundle` to the `thirdbook` group."""
    group.add_command(export)
    group.add_command(verify_bundle_command)
