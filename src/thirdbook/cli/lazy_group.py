"""The `thirdbook` group's commands, each module imported only when one of its commands is
run: `thirdbook explain` must not pay for importing the console, the ingester, replay's HTTP
client and every other command's services, nor `thirdbook --help` for any of them (it lists
the commands from their one-line help in `command_help`)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from gettext import gettext
from typing import Any

import click

from thirdbook.cli.errors import ThirdbookGroup
from thirdbook.cli.global_options import accept_after_every_command

CommandModules = Mapping[str, tuple[str, tuple[str, ...]]]
"""Module (under thirdbook.cli) -> (its register function, the commands it registers)."""


class LazyGroup(ThirdbookGroup):
    """A `ThirdbookGroup` whose commands are registered on first use, module by module; each
    gets the options that may follow a command (`global_options`) as it is registered.
    `command_help` (command -> its help's first sentence) lists the commands not yet loaded."""

    def __init__(
        self,
        *args: Any,
        modules: CommandModules,
        command_help: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.modules = dict(modules)
        self.command_help = dict(command_help or {})
        self._module_of = {name: m for m, (_, names) in modules.items() for name in names}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._module_of})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._module_of:
            self.load(self._module_of[cmd_name])
        return self.commands.get(cmd_name)

    def listed(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command as `--help` lists it: itself once loaded, else a stand-in that has
        its one-line help (its module is imported only if `command_help` lacks it)."""
        if cmd_name in self.commands or cmd_name not in self.command_help:
            return self.get_command(ctx, cmd_name)
        return click.Command(cmd_name, help=self.command_help[cmd_name])

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing (the same widths and cuts), of `listed` commands."""
        commands = [
            (name, command)
            for name in self.list_commands(ctx)
            if (command := self.listed(ctx, name)) is not None and not command.hidden
        ]
        if not commands:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in commands)
        with formatter.section(gettext("Commands")):
            formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in commands])

    def load(self, module: str) -> click.Group:
        """Import one command module and add its commands; the scratch group they were
        registered on (to see which they are)."""
        register_name, _ = self.modules[module]
        register = getattr(importlib.import_module(f"thirdbook.cli.{module}"), register_name)
        scratch = click.Group()
        register(scratch)
        accept_after_every_command(scratch)
        for name, command in scratch.commands.items():
            self.commands.setdefault(name, command)
        return scratch
