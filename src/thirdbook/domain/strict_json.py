"""Strict JSON: what RFC 8259 allows and nothing more (no NaN, no Infinity, no number that
overflows a double), for every document thirdbook reads back and trusts."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond the range of a double")
    return value


def loads_strict(data: str | bytes) -> Any:
    """Parse JSON; `ValueError` for NaN, Infinity or an overflowing number (and for
    anything `json.loads` refuses)."""
    return json.loads(data, parse_constant=_no_constant, parse_float=_finite)
