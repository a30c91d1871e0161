"""Rich `Text` built from untrusted strings: sanitised, never parsed as markup."""

from __future__ import annotations

from rich.text import Text

from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import visible, visible_bytes


def safe(value: str | None, limit: int | None = 200, style: str = "") -> Text:
    """A `Text` of untrusted `value`: secrets masked, control characters visible, markup
    inert."""
    return Text(visible(value or "", limit), style=style, no_wrap=True, overflow="ellipsis")


def safe_bytes(value: bytes, limit: int | None = 2000, *, reveal: bool = False) -> Text:
    """A `Text` of untrusted raw bytes (a log line), secrets masked unless `reveal` (an
    audited choice)."""
    return Text(visible_bytes(value, limit, reveal=reveal), overflow="fold")


def safe_prose(value: str | None, limit: int | None = 20_000, style: str = "") -> Text:
    """A wrapping `Text` of untrusted `value` that keeps its line breaks: secrets masked
    over the whole text first (a key across lines stays masked), each line made visible."""
    lines = mask_secrets((value or "")[: None if limit is None else limit + 4096]).split("\n")
    shown = "\n".join(visible(line, limit) for line in lines)
    return Text(shown, style=style, overflow="fold")


def safe_markdown(value: str | None, limit: int | None = 100_000) -> str:
    """Untrusted Markdown made safe to hand to a Markdown widget: secrets masked over the
    whole text, tabs expanded (indentation keeps its meaning), and every other control, bidi
    and separator character in each line shown as a visible escape (`\\e` for ESC), so no
    escape sequence reaches the terminal. What Markdown means is left alone; Rich markup is
    never read (the widget builds its text from the Markdown's tokens, as plain text)."""
    text = (value or "")[: None if limit is None else limit + 4096]
    lines = mask_secrets(text).split("\n")
    shown = "\n".join(visible(line.expandtabs(4), None, reveal=True) for line in lines)
    return shown if limit is None or len(shown) <= limit else shown[:limit] + "\n\n…(cut)"
