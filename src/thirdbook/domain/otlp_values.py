"""What OTLP/JSON carries, read as Python values: `AnyValue`s, attribute lists, ids, times.

OTLP/JSON is the protobuf JSON mapping with OpenTelemetry's exceptions: trace and span ids are
hex (not base64), int64 values (`intValue`, `startTimeUnixNano`) arrive as strings or numbers,
enums (`kind`, `status.code`) as integers. Every `AnyValue` case is read: `stringValue`,
`intValue`, `doubleValue` (including "NaN" and "Infinity" as strings), `boolValue`,
`arrayValue`, `kvlistValue` and `bytesValue` (base64); an empty value is None.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson


class OtlpShapeError(ValueError):
    """A part of an OTLP line is not what OTLP/JSON allows; the message says which."""


def any_value(value: object) -> Any:
    """The Python value of one OTLP `AnyValue` object."""
    if type(value) is dict and len(value) == 1:  # the usual case, fast
        ((case, inner),) = value.items()
        if case == "stringValue" and type(inner) is str:
            return inner
        if case == "doubleValue" and type(inner) is float:
            return inner
    if not isinstance(value, Mapping):
        raise OtlpShapeError(f"an attribute value must be an AnyValue object, not {value!r:.40}")
    if not value:
        return None
    case, inner = _one_case(value)
    if case == "stringValue":
        return _text(inner, case)
    if case == "intValue":
        return int64(inner, case)
    if case == "doubleValue":
        return _double(inner)
    if case == "boolValue":
        if not isinstance(inner, bool):
            raise OtlpShapeError(f"boolValue must be true or false, not {inner!r:.40}")
        return inner
    if case == "arrayValue":
        values = inner.get("values", []) if isinstance(inner, Mapping) else None
        if not isinstance(values, list):
            raise OtlpShapeError("arrayValue must hold a list under `values`")
        return [any_value(v) for v in values]
    if case == "kvlistValue":
        values = inner.get("values", []) if isinstance(inner, Mapping) else None
        if not isinstance(values, list):
            raise OtlpShapeError("kvlistValue must hold a list under `values`")
        return attributes(values)
    if case == "bytesValue":
        try:
            return base64.b64decode(_text(inner, case), validate=True)
        except (binascii.Error, ValueError) as exc:  # ValueError: not ASCII
            raise OtlpShapeError(f"bytesValue is not base64: {exc}") from None
    raise OtlpShapeError(f"unknown AnyValue case {case!r:.40}")


def _one_case(value: Mapping[str, object]) -> tuple[str, object]:
    present = [(k, v) for k, v in value.items() if v is not None]
    if len(present) != 1:
        raise OtlpShapeError(f"an AnyValue holds exactly one case, not {sorted(value)!r:.80}")
    return present[0]


def _text(inner: object, case: str) -> str:
    if not isinstance(inner, str):
        raise OtlpShapeError(f"{case} must be a string, not {inner!r:.40}")
    return inner


def int64(inner: object, what: str) -> int:
    """An int64 as OTLP/JSON writes it: a decimal string, or a JSON integer."""
    if isinstance(inner, bool):
        raise OtlpShapeError(f"{what} must be an integer, not {inner!r}")
    if isinstance(inner, int):
        return inner
    if isinstance(inner, str) and inner.lstrip("-").isdigit() and inner.isascii():
        return int(inner)
    raise OtlpShapeError(f"{what} must be an integer (a string of digits), not {inner!r:.40}")


def _double(inner: object) -> float:
    if isinstance(inner, bool):
        raise OtlpShapeError(f"doubleValue must be a number, not {inner!r}")
    if isinstance(inner, (int, float)):
        return float(inner)
    if inner in ("NaN", "Infinity", "-Infinity"):
        return float(str(inner).replace("Infinity", "inf"))
    if isinstance(inner, str):
        try:
            return float(inner)
        except ValueError:
            pass
    raise OtlpShapeError(f"doubleValue must be a number, not {inner!r:.40}")


def attributes(items: object) -> dict[str, Any]:
    """An OTLP `KeyValue` list as a dict (a repeated key: the last one wins)."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise OtlpShapeError("attributes must be a list of {key, value} objects")
    out: dict[str, Any] = {}
    for item in items:
        key = item.get("key") if type(item) is dict else None
        if type(key) is not str:
            raise OtlpShapeError(f"an attribute must be a {{key, value}} object: {item!r:.60}")
        out[key] = any_value(item.get("value") or {})
    return out


def otlp_id(value: object, size: int, what: str) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex; base64, which a protobuf
    JSON encoder without OTLP's exception writes, is read too. An empty id is None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise OtlpShapeError(f"{what} must be a string, not {value!r:.40}")
    if len(value) == size * 2:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == size:
            return raw.hex() if any(raw) else None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # ValueError: not ASCII
        raw = b""
    if len(raw) == size:
        return raw.hex() if any(raw) else None
    raise OtlpShapeError(f"{what} must be {size * 2} hex digits, not {value!r:.40}")


def unix_nano(value: object, what: str) -> datetime | None:
    """A `*TimeUnixNano` field as a UTC time; 0 or absent (unset in OTLP) is None."""
    if value is None:
        return None
    nanos = int64(value, what)
    if nanos == 0:
        return None
    if nanos < 0:
        raise OtlpShapeError(f"{what} must not be negative: {nanos}")
    seconds, rest = divmod(nanos, 1_000_000_000)
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)
    except (OverflowError, OSError, ValueError):
        raise OtlpShapeError(f"{what} {nanos} is not a time a clock can show") from None


def structured(value: Any) -> Any:
    """A GenAI attribute that may arrive structured or as a JSON string (the conventions
    allow both on spans): the structure either way; text that is not JSON stays text."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("[", "{"):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
    return value


def as_text(value: Any) -> str | None:
    """A value as the text a record keeps: strings as they are, numbers and structures as
    compact JSON, bytes as hex; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return orjson.dumps(value, default=_jsonable).decode()
    except TypeError:
        return str(value)


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return str(value)
    raise TypeError


def as_number(value: Any) -> float | None:
    """A finite number from an attribute (a number, or text of one), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None
