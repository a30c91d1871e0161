"""What a theme file may say, as a pydantic model: it decides every file the quick check in
`themes` does not accept as it is, and says why one is refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

from thirdbook.tui.theme_fields import COLOURS, NAME_PATTERN


class ThemeFile(BaseModel):
    """What a theme file may say."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=NAME_PATTERN)
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

    @field_validator(*COLOURS)
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
        colours = {c: getattr(self, c) for c in COLOURS}
        return Theme(name=self.name, dark=self.dark, variables=self.variables, **colours)
