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

import re
import tomllib
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from thirdbook.tui.theme_fields import COLOURS

DEFAULT_THEME = "thirdbook-dark"
NO_COLOUR_THEME = "thirdbook-mono"
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")  # NAME_PATTERN, as a whole string must match it
_KEYS = frozenset({"name", "dark", "variables", *COLOURS})


def plain_theme(raw: dict[str, Any]) -> Theme | None:
    """The theme of a file that says only what `theme_file.ThemeFile` accepts as it is (every
    value of its own type, every colour one Textual parses), without importing pydantic (the
    console's first frame does without it); None for anything else, which the model then
    decides (it may still accept it, converting a value) and says why it refuses."""
    if not raw.keys() <= _KEYS:
        return None
    name, dark, variables = raw.get("name"), raw.get("dark", True), raw.get("variables", {})
    if type(name) is not str or not _NAME.fullmatch(name) or type(dark) is not bool:
        return None
    if type(variables) is not dict or any(
        type(k) is not str or type(v) is not str for k, v in variables.items()
    ):
        return None
    colours: dict[str, Any] = {c: raw.get(c) for c in COLOURS}
    if colours["primary"] is None:
        return None
    for value in colours.values():
        if value is None:
            continue
        if type(value) is not str:
            return None
        try:
            Color.parse(value)
        except ColorParseError:
            return None
    return Theme(name=name, dark=dark, variables=dict(variables), **colours)


def load_theme(path: Path) -> Theme:
    """One theme file; raises ValueError naming the file, key and reason."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    theme = plain_theme(raw)
    if theme is not None:
        return theme
    from pydantic import ValidationError

    from thirdbook.tui.theme_file import ThemeFile

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
