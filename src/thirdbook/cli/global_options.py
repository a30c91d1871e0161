"""The options that say which store and config a command works on: `--data-dir`, `--config`
and `--demo`. They mean the same after the command (`thirdbook events --demo`,
`thirdbook status --data-dir X`) as before it (`thirdbook --demo events`); given in both
places, the one after the command wins. Before the command they also come from the
environment (`THIRDBOOK_DATA_DIR`, `THIRDBOOK_CONFIG`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])

_DATA_DIR = "Where the store lives (default: the XDG data dir)."
_CONFIG = "The config file (default: thirdbook.toml in the XDG config dir)."
_DEMO = "Use the demo's store (what `thirdbook demo` left in the data dir)."
AFTER_THE_COMMAND = (
    "--data-dir, --config and --demo may also follow the command, with the same meaning "
    "(`thirdbook events --demo`, `thirdbook status --data-dir DIR`)."
)
"""What `thirdbook --help` says about them."""


def root_options(function: F) -> F:
    """The three options on the `thirdbook` group itself (with their environment variables);
    the group's callback receives them as `data_dir`, `config` and `use_demo`."""
    for option in reversed(
        (
            click.option(
                "--data-dir",
                type=click.Path(path_type=Path),
                envvar="THIRDBOOK_DATA_DIR",
                help=_DATA_DIR,
            ),
            click.option(
                "--config",
                type=click.Path(path_type=Path),
                envvar="THIRDBOOK_CONFIG",
                help=_CONFIG,
            ),
            click.option("--demo", "use_demo", is_flag=True, help=_DEMO),
        )
    ):
        function = option(function)
    return function


def accept_after_every_command(group: click.Group) -> None:
    """Give every command below `group` (and below its subgroups) the three options, so that
    they may follow the command; what they say goes where the group's own options put it
    (`ctx.obj`), which `common.context_of` reads."""
    for command in group.commands.values():
        _accept(command)


def _accept(command: click.Command) -> None:
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    options = [
        click.Option(
            ["--data-dir"],
            type=click.Path(path_type=Path),
            expose_value=False,
            callback=_remember("data_dir"),
            help=f"{_DATA_DIR[:-1]}; as before the command.",
        ),
        click.Option(
            ["--config"],
            type=click.Path(path_type=Path),
            expose_value=False,
            callback=_remember("config"),
            help=f"{_CONFIG[:-1]}; as before the command.",
        ),
    ]
    if command.name != "demo":  # `thirdbook demo` makes the demo's store: --demo says nothing
        options.append(
            click.Option(
                ["--demo"],
                is_flag=True,
                expose_value=False,
                callback=_remember("demo"),
                help=f"{_DEMO[:-1]}; as before the command.",
            )
        )
    command.params.extend(o for o in options if not taken.intersection(o.opts))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept(sub)


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def given(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if param.name is None or ctx.get_parameter_source(param.name) is not (
            ParameterSource.COMMANDLINE
        ):
            return
        ctx.ensure_object(dict)[key] = value

    return given
