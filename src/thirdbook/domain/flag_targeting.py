"""flagd targeting rules for a restore with conditions: built here, and evaluated here as flagd
evaluates them, so the demo's serving layer routes each request as any OpenFeature client
reading the same file would (a test checks it against the real flagd provider).

A condition is an input filter (attribute comparisons, all of which must hold) and a cohort
share. Its rule sends a request to the model's variant when it passes the filter and falls in
the cohort, and to the `outside` variant (human or fallback) otherwise:

    {"if": [{"and": [filter...]}, {"fractional": [["model", pct], [outside, 100 - pct]]}, outside]}

`fractional` is bucketed as flagd-core 2.x (the flagd provider's in-process evaluator) does:
the key is `[flagKey, targetingKey]`, encoded as canonical CBOR and hashed with 32-bit
MurmurHash3 (seed 0, unsigned); the bucket is `hash * total_weight >> 32`. Only the operations
thirdbook writes are evaluated (`if`, `and`, `or`, `!`, comparisons, `var`, `fractional`); any
other operation is refused when a rule is validated, never guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FilterOp = Literal["==", "!=", "<", "<=", ">", ">="]
_FILTER = re.compile(r"^\s*([A-Za-z_$][\w.$-]*)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$")
_OPS = {"if", "and", "or", "!", "==", "!=", "<", "<=", ">", ">=", "var", "fractional"}


class InputFilter(BaseModel):
    """One comparison of a request attribute (`income >= 40000`, `channel = web`)."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1)
    op: FilterOp
    value: str | float

    def rule(self) -> dict[str, Any]:
        """The comparison as JSONLogic."""
        return {self.op: [{"var": self.key}, self.value]}

    def __str__(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.key} {self.op} {value}"


def parse_filter(text: str) -> InputFilter:
    """`KEY=VALUE` (or `!=`, `<`, `<=`, `>`, `>=`); a numeric value compares as a number
    (then only `=`, `!=` and the orderings apply to numbers). ValueError says what is wrong."""
    found = _FILTER.match(text)
    if found is None or not found[3]:
        raise ValueError(f"{text!r} is not KEY=VALUE (or KEY>=VALUE, KEY<VALUE, KEY!=VALUE, ...)")
    key, op, raw = found[1], found[2], found[3]
    op = "==" if op == "=" else op
    value: str | float = raw
    try:
        number = float(raw)
        if math.isfinite(number):
            value = number
    except ValueError:
        pass
    if isinstance(value, str) and op not in {"==", "!="}:
        raise ValueError(f"{text!r}: {op} compares numbers, and {raw!r} is not one")
    return InputFilter.model_validate({"key": key, "op": op, "value": value})


class FlagCondition(BaseModel):
    """Who the restored model serves: requests passing every filter, and in the cohort;
    the rest go to `outside`."""

    model_config = ConfigDict(frozen=True)

    filters: tuple[InputFilter, ...] = ()
    cohort_pct: int = Field(default=100, ge=1, le=100)
    outside: Literal["human", "fallback", "refused"] = "human"

    @property
    def narrows(self) -> bool:
        """Whether some requests still go elsewhere (a filter, or a cohort under 100 %)."""
        return bool(self.filters) or self.cohort_pct < 100

    def targeting(self) -> dict[str, Any]:
        """The flagd targeting rule (JSONLogic) that routes by this condition (`{}`, no
        rule, when it does not narrow: the default variant then serves everyone)."""
        inside: Any = "model"
        if self.cohort_pct < 100:
            inside = {
                "fractional": [["model", self.cohort_pct], [self.outside, 100 - self.cohort_pct]]
            }
        if not self.filters:
            return inside if isinstance(inside, dict) else {}
        test = {"and": [f.rule() for f in self.filters]}
        return {"if": [test, inside, self.outside]}

    def __str__(self) -> str:
        said = [str(f) for f in self.filters]
        if self.cohort_pct < 100:
            said.append(f"a {self.cohort_pct} % cohort")
        where = " and ".join(said) or "all requests"
        return f"model for {where}, the rest to {self.outside}"


# -- evaluation, as flagd does it ------------------------------------------------------------


def check_rule(rule: object) -> None:
    """Raise ValueError if `rule` uses an operation this evaluator does not know."""
    if isinstance(rule, dict):
        if len(rule) != 1:
            raise ValueError(f"a JSONLogic operation has exactly one key, not {sorted(rule)}")
        ((op, args),) = rule.items()
        if op not in _OPS:
            raise ValueError(f"targeting uses {op!r}, which thirdbook does not evaluate")
        for arg in args if isinstance(args, list) else [args]:
            check_rule(arg)
    elif isinstance(rule, list):
        for item in rule:
            check_rule(item)


def evaluate(rule: object, context: Mapping[str, Any], flag_key: str) -> Any:
    """The value of a JSONLogic `rule` for a request's evaluation `context` (its
    `targetingKey` among the attributes), as flagd evaluates the flag `flag_key`."""
    if isinstance(rule, list):
        return [evaluate(r, context, flag_key) for r in rule]
    if not isinstance(rule, dict) or len(rule) != 1:
        return rule
    ((op, raw),) = rule.items()
    args = raw if isinstance(raw, list) else [raw]
    if op == "if":
        for i in range(0, len(args) - 1, 2):
            if _truthy(evaluate(args[i], context, flag_key)):
                return evaluate(args[i + 1], context, flag_key)
        return evaluate(args[-1], context, flag_key) if len(args) % 2 else None
    if op == "fractional":
        return _fractional(context, flag_key, args)
    values = [evaluate(a, context, flag_key) for a in args]
    if op == "var":
        return _var(context, values[0], values[1] if len(values) > 1 else None)
    if op == "and":
        out: Any = True
        for value in values:
            out = value
            if not _truthy(value):
                return value
        return out
    if op == "or":
        return next((v for v in values if _truthy(v)), values[-1] if values else None)
    if op == "!":
        return not _truthy(values[0] if values else None)
    if op in {"==", "!="}:
        equal = _loose_equal(values[0], values[1])
        return equal if op == "==" else not equal
    return _compare(op, _number(values[0]), _number(values[1]))


def _var(context: Mapping[str, Any], key: object, default: object) -> Any:
    value: Any = context
    for part in str(key).split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def _truthy(value: object) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def _number(value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return math.nan
    return math.nan


def _loose_equal(a: object, b: object) -> bool:
    if type(a) is type(b):
        return a == b
    if a is None or b is None:
        return False
    return _number(a) == _number(b)


def _compare(op: str, a: float, b: float) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _fractional(context: Mapping[str, Any], flag_key: str, args: list[Any]) -> Any:
    key = context.get("targetingKey")
    if args and not isinstance(args[0], list):
        bucket_by: Any = evaluate(args[0], context, flag_key)
        args = args[1:]
    elif isinstance(key, str) and key:
        bucket_by = [flag_key, key]
    else:
        return None
    shares = []
    for arg in args:
        if not isinstance(arg, list) or not 1 <= len(arg) <= 2:
            return None
        weight = arg[1] if len(arg) == 2 else 1
        if isinstance(weight, bool) or not isinstance(weight, int):
            return None
        shares.append((arg[0], max(0, weight)))
    total = sum(w for _, w in shares)
    if total <= 0:
        return None
    bucket = (murmur3_32(cbor(bucket_by)) * total) >> 32
    end = 0
    for variant, weight in shares:
        end += weight
        if bucket < end:
            return variant
    return None


def cbor(value: object) -> bytes:
    """Canonical CBOR of a JSON value made of strings, integers, booleans, null and lists
    (what a bucketing key is); ValueError for anything else."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, str):
        data = value.encode()
        return _head(3, len(data)) + data
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    raise ValueError(f"cannot bucket by {type(value).__name__}")


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
    raise ValueError("number too large to bucket by")


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, unsigned (what `mmh3.hash(data, signed=False)` returns)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[whole:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h
