"""Reading JSON the way the pydantic models would, without pydantic, where that is certain.

For `explain` read quickly (`thirdbook.domain.plain_events`, `plain_registry`): importing
pydantic and building its validators costs a start several times what reading a decision
does. A plain reading is given only for JSON in its plainest spelling, which the models and
these checks read alike; anything else raises `Unsure`, and the caller asks the models:
- the text must be UTF-8 (never UTF-16 or 32, which `json.loads` would guess), with no
  escaped surrogate, no NaN or infinity, no key twice in one object, and at most
  `MAX_NESTING` opening brackets (the models refuse deep nesting that `json` reads);
- a text field is a JSON string, a number a JSON number (never a numeric string or a
  boolean, which the models may coerce), a time one RFC 3339 shape with its offset.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

MAX_NESTING = 100
"""Past this many `[` and `{` in a text (anywhere), the models decide."""

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_RFC3339 = re.compile(  # as `thirdbook.domain.fast_events` accepts a time
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
).fullmatch


class Unsure(ValueError):
    """The models might read this otherwise (or refuse it): ask them."""


def _no_constant(name: str) -> Any:
    raise Unsure(f"{name} is not standard JSON")


def _one_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise Unsure("a key given twice")
    return found


def load(data: bytes) -> Any:
    """`data` as JSON, where the models' JSON parser reads it the same; else `Unsure`."""
    if data.count(b"[") + data.count(b"{") > MAX_NESTING or _SURROGATE.search(data):
        raise Unsure("deep nesting or an escaped surrogate")
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_one_each, parse_constant=_no_constant)
    except (UnicodeDecodeError, RecursionError, json.JSONDecodeError) as exc:
        raise Unsure(str(exc)) from exc


Check = Callable[[Any], Any]
"""Reads one present value as its model's field would, or raises `Unsure`."""


def text(value: Any) -> str:
    """A JSON string."""
    if type(value) is not str:
        raise Unsure("not a string")
    return value


def number(value: Any) -> float:
    """A finite JSON number, as a float."""
    if type(value) not in (int, float):
        raise Unsure("not a number")
    try:
        found = float(value)
    except OverflowError as exc:
        raise Unsure("too large") from exc
    if not math.isfinite(found):
        raise Unsure("not finite")
    return found


def not_negative(value: Any) -> float:
    """A finite JSON number at least 0."""
    found = number(value)
    if found < 0:
        raise Unsure("negative")
    return found


def flag(value: Any) -> bool:
    """A JSON boolean."""
    if type(value) is not bool:
        raise Unsure("not a boolean")
    return value


def time(value: Any) -> datetime:
    """An RFC 3339 time with its offset."""
    if type(value) is not str or not _RFC3339(value):
        raise Unsure("not a time in the plain shape")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise Unsure(str(exc)) from exc


def one_of(*values: str) -> Check:
    """A JSON string among `values`."""

    def check(value: Any) -> str:
        if type(value) is not str or value not in values:
            raise Unsure("not one of the values")
        return value

    return check


def exactly(expected: int) -> Check:
    """The JSON integer `expected` (the event format's version)."""

    def check(value: Any) -> int:
        if type(value) is not int or value != expected:
            raise Unsure("not the expected integer")
        return value

    return check


def optional(check: Check) -> Check:
    """`check`'s value, or None for a JSON null."""

    def read(value: Any) -> Any:
        return None if value is None else check(value)

    return read


def obj(value: Any) -> dict[str, Any]:
    """A JSON object."""
    if type(value) is not dict:
        raise Unsure("not an object")
    return value
