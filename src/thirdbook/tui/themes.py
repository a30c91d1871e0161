"""Theme files: TOML in `themes/` (shipped) and the user's themes directory, loaded at start.

A theme file names its colours the way Textual's `Theme` does::

    name = "thirdbook-dark"
    dark = true
    primary = "#5fafff"
    background = "#101418"
    # secondary, accent, foreground, surface, panel, boost, success, warning, error
    [variables]            # optional Textual design variables
    footer-key-foreground = "#5fafff"

A bad file is reported (with the file and the reason) and skipped; it never stops the console.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "thirdbook-dark"
NO_COLOUR_THEME = "thirdbook-mono"
_COLOURS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)


class ThemeFile(BaseModel):
    """What a theme file may say."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    dark: bool = True
    primary: str
    secondary: str | None = None
    accent: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    success: str | None = None
    warning: str | None = None
    error: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator(*_COLOURS)
    @classmethod
    def _a_colour(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Color.parse(value)
            except ColorParseError as exc:
                raise ValueError(f"{value!r} is not a colour") from exc
        return value

    def theme(self) -> Theme:
        """The Textual theme."""
        colours = {c: getattr(self, c) for c in _COLOURS}
        return Theme(name=self.name, dark=self.dark, variables=self.variables, **colours)


def load_theme(path: Path) -> Theme:
    """One theme file; raises ValueError naming the file, key and reason."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return ThemeFile.model_validate(raw).theme()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"{path}: {problems}") from exc


def load_themes(directories: list[Path]) -> tuple[dict[str, Theme], list[str]]:
    """Every theme in the directories (a later directory's theme of one name wins), and the
    problems with the files that could not be used."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme(path)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            themes[theme.name] = theme
    return themes, problems
