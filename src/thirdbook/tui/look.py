"""How the console looks and which keys do what: `[console]` in thirdbook.toml, the theme
directories (the shipped one, then the user's own), and NO_COLOR."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from thirdbook import locations
from thirdbook.tui.themes import DEFAULT_THEME, NO_COLOUR_THEME


class ConsoleLook(Protocol):
    """What the look is made from: `[console]` as validated (`config.ConsoleConfig`), or as
    remembered from its last validation (`services.quick_settings`)."""

    @property
    def theme(self) -> str: ...
    @property
    def keymap(self) -> Mapping[str, str]: ...
    @property
    def themes_dir(self) -> Path | None: ...


@dataclass
class Look:
    """How the console looks and which keys do what (from `[console]` in thirdbook.toml)."""

    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = field(default_factory=dict)
    theme_dirs: list[Path] = field(default_factory=lambda: [locations.shipped_dir("themes")])
    no_color: bool = False

    @classmethod
    def from_config(cls, console: ConsoleLook, config_path: Path | None = None) -> Look:
        """The look the config asks for; NO_COLOR picks the no-colour theme."""
        own = console.themes_dir or locations.user_themes_dir(
            config_path or locations.config_file()
        )
        no_color = "NO_COLOR" in os.environ
        return cls(
            theme=NO_COLOUR_THEME if no_color else console.theme,
            keymap=dict(console.keymap),
            no_color=no_color,
            theme_dirs=[locations.shipped_dir("themes"), own.expanduser()],
        )
