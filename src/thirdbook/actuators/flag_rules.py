"""A restore with conditions, written into the flagd flag file as a targeting rule.

The model's flag stays `ENABLED`; its `targeting` becomes the condition's rule (see
`domain.flag_targeting`) and its `defaultVariant` the route outside the condition, so a reader
that cannot evaluate the rule (or a request the rule gives no variant) still goes to the human
or the fallback, never to the model. Without a condition that narrows, the flag routes to the
model with no rule. Every other flag and field stays as it is. The write is the kill switch's:
validated (the rule must use only operations thirdbook evaluates and name existing variants),
atomic, compare-and-swap, read back (`config_write.replace_file`).
"""

from __future__ import annotations

from pathlib import Path

from thirdbook.actuators.config_write import bytes_hash, replace_file
from thirdbook.actuators.kill_switch import _encode, _raw, validate_flagd
from thirdbook.control_file import read_control
from thirdbook.domain.control import ROUTES, FlagdFile, serving_flag_key
from thirdbook.domain.flag_targeting import FlagCondition, check_rule
from thirdbook.domain.strict_json import loads_strict


def conditioned_flags(current: bytes | None, model: str, condition: FlagCondition) -> bytes:
    """The flag file with `model`'s flag routing by `condition`."""
    raw = _raw(current)
    flag = raw["flags"].setdefault(serving_flag_key(model), {})
    variants = flag.setdefault("variants", {})
    for name in ROUTES:
        variants.setdefault(name, name)
    flag["state"] = "ENABLED"
    if condition.narrows:
        flag["defaultVariant"] = condition.outside
        flag["targeting"] = condition.targeting()
    else:
        flag["defaultVariant"] = "model"
        flag.pop("targeting", None)
    return _encode(raw)


def validate_rules(data: bytes) -> None:
    """`validate_flagd`, and every flag's targeting evaluable and naming its own variants."""
    validate_flagd(data)
    for key, flag in FlagdFile.model_validate_json(data).flags.items():
        targeting = (flag.model_extra or {}).get("targeting")
        if not targeting:
            continue
        check_rule(targeting)
        named = _variant_names(targeting)
        unknown = sorted(named - set(flag.variants))
        if unknown:
            raise ValueError(f"flag {key}'s targeting names unknown variant(s) {unknown}")


def _variant_names(rule: object) -> set[str]:
    """The variants a thirdbook rule can return (the strings in `if` branches and
    `fractional` shares)."""
    if isinstance(rule, str):
        return {rule}
    if not isinstance(rule, dict) or len(rule) != 1:
        return set()
    ((op, args),) = rule.items()
    if op == "if" and isinstance(args, list):
        return {
            n for i, a in enumerate(args) if i % 2 or i == len(args) - 1 for n in _variant_names(a)
        }
    if op == "fractional" and isinstance(args, list):
        return {a[0] for a in args if isinstance(a, list) and a and isinstance(a[0], str)}
    return set()


def write_conditions(
    path: Path, model: str, condition: FlagCondition, expected: str | None = None
) -> tuple[bytes | None, tuple[str, str]]:
    """Write `condition` for `model` into the flag file at `path` (the file itself); returns
    the bytes that were there (to keep as evidence) and the file's (before, after) hashes."""
    current = read_control(path)
    seen = bytes_hash(current) if expected is None else expected
    return current, replace_file(
        path, conditioned_flags(current, model, condition), seen, validate_rules
    )


def targeting_of(data: bytes, model: str) -> object:
    """The targeting rule of `model`'s flag in a flag file (None when there is none)."""
    raw = loads_strict(data)
    flag = raw.get("flags", {}).get(serving_flag_key(model), {})
    return flag.get("targeting") or None
