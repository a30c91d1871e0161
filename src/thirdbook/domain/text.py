"""Making untrusted text safe to show: every control character becomes a visible escape.

Anything from a log, a prompt, a model response or a file name passes through `visible()`
before it reaches a terminal, and has its secrets masked there (see `secrets`). The
terminal must never receive ESC, C1 controls, BEL, BS, CR, DEL, NUL or a bidi override from
data: they could retitle the window, write the clipboard, clear the screen or reorder what
the commander reads.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from thirdbook.domain.secrets import mask_secrets

_SECRET_MARGIN = 4096
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ufeff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, limit: int | None = None, *, reveal: bool = False) -> str:
    """`text` with secrets masked (unless `reveal`, an audited choice of the caller) and
    every control, bidi and separator character shown as an escape.

    With `limit`, the result is cut to about that many characters and ends with `…` and the
    size of what was cut.
    """
    cut = ""
    if limit is not None and len(text) > limit:
        cut = f"…(+{len(text) - limit} chars)"
        # Masked with some text beyond the cut, so a secret across it is masked whole.
        text = text[: limit + _SECRET_MARGIN]
    if not reveal:
        text = mask_secrets(text)
    if cut:
        text = text[:limit]
    return _UNSAFE.sub(_escape, text) + cut


def visible_bytes(data: bytes, limit: int | None = None, *, reveal: bool = False) -> str:
    """Raw bytes made visible: invalid UTF-8 shown as `\\xNN` escapes, secrets masked."""
    return visible(data.decode("utf-8", errors="backslashreplace"), limit, reveal=reveal)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def terminal_json(value: Any, *, indent: int | None = None) -> str:
    """`value` as standard JSON that is safe to print, the one way every JSON output is
    written: everything outside printable ASCII (C0 and C1 controls, DEL, bidi overrides) is a
    `\\uXXXX` escape, and a NaN or an infinity (never standard JSON) is written as a string.
    Masking secrets is the caller's part: it knows which fields are untrusted."""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=False, indent=indent)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=True, allow_nan=False, indent=indent)
    # JSON lets DEL stand raw inside a string; it never occurs outside one.
    return text.replace("\x7f", "\\u007f")
