"""Rich `Text` built from untrusted strings: sanitised, never parsed as markup."""

from __future__ import annotations

from rich.text import Text

from thirdbook.domain.text import visible, visible_bytes


def safe(value: str | None, limit: int | None = 200, style: str = "") -> Text:
    """A `Text` of untrusted `value`: secrets masked, control characters visible, markup
    inert."""
    return Text(visible(value or "", limit), style=style, no_wrap=True, overflow="ellipsis")


def safe_bytes(value: bytes, limit: int | None = 2000, *, reveal: bool = False) -> Text:
    """A `Text` of untrusted raw bytes (a log line), secrets masked unless `reveal` (an
    audited choice)."""
    return Text(visible_bytes(value, limit, reveal=reveal), overflow="fold")
