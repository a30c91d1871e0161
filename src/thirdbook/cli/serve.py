"""`thirdbook serve`: the console in a browser, through textual-serve, for responders who
cannot open an SSH session. The same console as `thirdbook console`, on the same store and
config (with `--demo`, the demo's store); loopback, a token and read-only by default (see
`serve_gate` for the door and `serve_web` for the server, imported only here)."""

from __future__ import annotations

import click

from thirdbook.cli.common import context_of, refuse_missing_store
from thirdbook.cli.console import check_keymap


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; any but loopback needs --allow-remote.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Listen on an address other than loopback (always with a token; put a reverse "
    "proxy with TLS in front).",
)
@click.option(
    "--token",
    envvar="THIRDBOOK_SERVE_TOKEN",
    show_envvar=True,
    help="The token every request must carry (default: a new one, printed once).",
)
@click.option(
    "--no-token",
    is_flag=True,
    help="No token (loopback and read-only only: anyone on this machine may then look).",
)
@click.option(
    "--allow-actions",
    is_flag=True,
    help="Let browser sessions act, as this OS user with the origin 'browser from …' "
    "(default: they look but do not act).",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The address browsers use, behind a reverse proxy (https://console.example.org).",
)
@click.option(
    "--max-sessions",
    type=click.IntRange(1, 100),
    default=8,
    show_default=True,
    help="Browser sessions open at once (each is one console process).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    allow_remote: bool,
    token: str | None,
    no_token: bool,
    allow_actions: bool,
    public_url: str | None,
    max_sessions: int,
) -> None:
    """Serve the console to web browsers: each browser tab gets its own console on the
    configured store (read-only unless --allow-actions)."""
    from thirdbook.tui.serve_gate import plan_serving

    try:
        plan = plan_serving(
            host,
            port,
            allow_remote=allow_remote,
            token=token or None,
            no_token=no_token,
            allow_actions=allow_actions,
            public_url=public_url,
            max_sessions=max_sessions,
        )
    except ValueError as exc:
        raise click.ClickException(f"refused: {exc}") from exc
    context = context_of(ctx)
    check_keymap(context)  # here, once, rather than in every browser tab
    if not allow_actions:
        refuse_missing_store(context)
    from thirdbook.tui.serve_web import ListenError, run_server

    try:
        run_server(context, plan, click.echo)
    except ListenError as exc:
        raise click.ClickException(str(exc)) from exc


def register_serve_commands(group: click.Group) -> None:
    """Add `serve` to the `thirdbook` group."""
    group.add_command(serve)
