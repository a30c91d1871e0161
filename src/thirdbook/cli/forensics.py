"""Baselines of known-good and the chain diff of an incident (prompt forensics)."""

from __future__ import annotations

import re
from datetime import timedelta

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import json_option
from thirdbook.domain.baselines import Baseline, link_diff
from thirdbook.domain.text import terminal_json, visible
from thirdbook.services.forensics import BaselineRow, ChainReport

_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(text: str) -> timedelta:
    """`30m`, `1h`, `2d`, `90s`."""
    found = _WINDOW.match(text.strip())
    if found is None or float(found.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a window like 30m, 1h or 2d")
    return timedelta(seconds=float(found.group(1)) * _UNIT[found.group(2)])


@click.command("baseline")
@click.argument("model")
@click.argument("version")
@click.option(
    "--window",
    "window_text",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="How far back from now (or from the version's last decision) to look.",
)
@json_option
@click.pass_context
def baseline(ctx: click.Context, model: str, version: str, window_text: str, as_json: bool) -> None:
    """Keep what known-good looks like for MODEL VERSION: its templates, retrieved documents,
    tool output shapes, weights hash, flag file, registry alias and decision mix."""
    window = parse_window(window_text)
    row, taken = with_services(ctx, lambda svc: svc.forensics.baseline(model, version, window))
    if as_json:
        click.echo(
            terminal_json(
                {"baseline": row.model_dump(mode="json"), **taken.model_dump(mode="json")}
            )
        )
        return
    click.echo(_summary(row, taken))


def _summary(row: BaselineRow, taken: Baseline) -> str:
    chain = taken.chain
    lines = [
        f"baseline #{row.id}: {visible(row.model)} {visible(row.version)}, {chain.decisions} "
        f"decisions from {row.since:%Y-%m-%d %H:%M:%S} to {row.until:%Y-%m-%d %H:%M:%S} UTC, "
        f"object sha256:{row.sha256}",
        f"  templates: {visible(', '.join(chain.templates) or '-')}",
        f"  documents: {sum(len(d) for d in chain.documents.values())}",
    ]
    for tool, shape in chain.tool_shapes.items():
        lines.append(f"  tool {visible(tool)}: {visible(shape)}")
    lines.append(f"  weights: {visible(chain.weights_hash or '-')}")
    lines.append(f"  flag file: sha256:{chain.flag_sha256 or '-'} route {chain.flag_route or '-'}")
    lines.append(f"  registry alias: {visible(chain.registry_alias or '-')}")
    mix = ", ".join(f"{k} {v:.0%}" for k, v in chain.decision_mix.items())
    lines.append(f"  decision mix: {visible(mix)}")
    return "\n".join(lines)


@click.command("forensics")
@click.argument("incident", type=int)
@click.option(
    "--keep",
    "keep",
    multiple=True,
    metavar="LINK",
    help="Keep a changed link as a finding (kind, key or 'kind key'; repeatable; "
    "'all' for every changed link).",
)
@json_option
@click.pass_context
def forensics(ctx: click.Context, incident: int, keep: tuple[str, ...], as_json: bool) -> None:
    """Diff every link of INCIDENT's chain against the model's last known-good baseline."""
    report: ChainReport = with_services(
        ctx, lambda svc: svc.forensics.chain(incident), access="write" if keep else "auto"
    )
    if keep:
        names = [] if "all" in keep else list(keep)
        kept = with_services(ctx, lambda svc: svc.forensics.keep(incident, names))
    if as_json:
        click.echo(terminal_json(report.model_dump(mode="json")))
    else:
        click.echo(_report(report))
    if keep:
        click.echo(f"kept {len(kept)} finding(s) on incident #{incident}'s timeline")


def _report(report: ChainReport) -> str:
    base = report.baseline
    lines = [
        f"incident #{report.incident_id}: {visible(report.model)} {visible(report.suspect)}, "
        f"{report.decisions} decisions from {report.since:%Y-%m-%d %H:%M:%S} to "
        f"{report.until:%Y-%m-%d %H:%M:%S} UTC, against baseline #{report.baseline_id} "
        f"({visible(base.model)} {visible(base.version)}, {base.since:%Y-%m-%d %H:%M} to "
        f"{base.until:%H:%M} UTC)",
    ]
    for link in report.links:
        seen = (
            ""
            if link.first_seen is None
            else (
                f"  first seen {link.first_seen.isoformat(timespec='seconds')}"
                + ("" if link.first_request is None else f" ({visible(link.first_request)})")
            )
        )
        lines.append(f"{link.status:<10} {visible(link.label)}{seen}")
    for link in report.changed:
        lines.append("")
        lines.append(f"--- {visible(link.label)} ({link.status})")
        lines.extend(visible(line) for line in link_diff(link))
    return "\n".join(lines)


def register_forensics_commands(group: click.Group) -> None:
    """Add `baseline` and `forensics` to the `thirdbook` group."""
    group.add_command(baseline)
    group.add_command(forensics)
