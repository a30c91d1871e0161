"""The `thirdbook` group's commands, each module imported only when one of its commands is
run (or listed, for `--help`): `thirdbook explain` must not pay for importing the console,
the ingester, replay's HTTP client and every other command's services."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from thirdbook.cli.errors import ThirdbookGroup
from thirdbook.cli.global_options import accept_after_every_command

CommandModules = Mapping[str, tuple[str, tuple[str, ...]]]
"""Module (under thirdbook.cli) -> (its register function, the commands it registers)."""


class LazyGroup(ThirdbookGroup):
    """A `ThirdbookGroup` whose commands are registered on first use, module by module; each
    gets the options that may follow a command (`global_options`) as it is registered."""

    def __init__(self, *args: Any, modules: CommandModules, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modules = dict(modules)
        self._module_of = {name: m for m, (_, names) in modules.items() for name in names}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._module_of})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._module_of:
            self.load(self._module_of[cmd_name])
        return self.commands.get(cmd_name)

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
