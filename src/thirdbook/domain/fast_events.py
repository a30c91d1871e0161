"""A compiled validator for thirdbook v1 lines: msgspec structs generated from the pydantic
models (`thirdbook.domain.events`, which stay the schema and the API), for ingest's hot path.

It only ever says yes for a line the models accept, with the same columns; for anything
else it says "don't know" (None) and the caller asks the models, which give the reason. So
what is accepted and every reject reason stay the models' (tests/test_fast_events.py checks
both agree over corpora of good and bad lines). Two decoders, the first that answers wins:
- strict: no key the models do not name, so every number is one the models read (a double,
  range-checked by msgspec) and every string is UTF-8-checked: a yes is final;
- lenient: unknown keys ignored, as the models do; msgspec skips them less carefully than
  the models read them (a number beyond a double, invalid UTF-8, nesting past the models'
  depth), so a yes also needs the line ASCII or valid UTF-8, shallow, and standard JSON.
Times are read as text and converted here only in the one RFC 3339 shape whose meaning the
models and `datetime.fromisoformat` agree on (six fraction digits at most: msgspec would
round a seventh, the models truncate it); any other spelling goes to the models.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

import msgspec
import orjson
from annotated_types import Ge
from pydantic import AwareDatetime, BaseModel

from thirdbook.domain.events import Event
from thirdbook.domain.line_format import EventColumns
from thirdbook.domain.records import in_store_range, to_us

EVENT_MODELS: tuple[type[BaseModel], ...] = get_args(get_args(Event)[0])
"""The members of the `Event` union, each told by its `kind`."""

MAX_NESTING = 100
"""Past this many `[` and `{` in a line (anywhere), the models decide: they refuse nesting
deeper than about 128, which msgspec reads."""

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"  # the models refuse +24:00 and +00:60
).fullmatch


def _is_time(annotation: Any) -> bool:
    return annotation is AwareDatetime or AwareDatetime in get_args(annotation)


def _tag(model: type[BaseModel]) -> str:
    (kind,) = get_args(model.model_fields["kind"].annotation)
    return str(kind)


class _Generator:
    """Turns the pydantic models into msgspec structs, one set per strictness."""

    def __init__(self, *, forbid_unknown: bool) -> None:
        self.forbid_unknown = forbid_unknown
        self.structs: dict[type[BaseModel], type[msgspec.Struct]] = {}
        self.times: dict[str, tuple[str, ...]] = {}
        """The time fields besides `ts` (read as text) of each kind."""
        self.kinds: dict[type[msgspec.Struct], str] = {}
        """Each event struct's kind (msgspec keeps the tag out of the fields)."""

    def event(self, model: type[BaseModel]) -> type[msgspec.Struct]:
        kind = _tag(model)
        times = [n for n, f in model.model_fields.items() if _is_time(f.annotation)]
        if times[:1] != ["ts"] or "ts" in times[1:]:
            raise TypeError(f"{model.__name__}: `ts` must be its first time")
        self.times[kind] = tuple(times[1:])
        built = self.struct(model, tag=kind)
        self.kinds[built] = kind
        return built

    def struct(self, model: type[BaseModel], tag: str | None = None) -> type[msgspec.Struct]:
        if model in self.structs:
            return self.structs[model]
        if model.model_config.get("extra", "ignore") != "ignore":
            raise TypeError(f"{model.__name__}: only models that ignore unknown keys are mapped")
        fields: list[tuple[str, Any, Any]] = []
        for name, info in model.model_fields.items():
            if name == "kind" and tag is not None:
                continue  # the union's tag
            annotation = self.type_of(info.annotation, f"{model.__name__}.{name}")
            bounds = [m.ge for m in info.metadata if isinstance(m, Ge)]
            if len(bounds) != len(info.metadata):
                raise TypeError(f"{model.__name__}.{name}: unmapped constraint {info.metadata}")
            if bounds:
                annotation = _constrained(annotation, bounds[0])
            if info.is_required():
                fields.append((name, annotation, msgspec.NODEFAULT))
            elif info.default_factory is list:
                fields.append((name, annotation, msgspec.field(default_factory=list)))
            elif info.default_factory is None:
                fields.append((name, annotation, info.default))
            else:
                raise TypeError(f"{model.__name__}.{name}: unmapped default factory")
        built = msgspec.defstruct(
            f"Fast{model.__name__}",
            fields,
            kw_only=True,
            forbid_unknown_fields=self.forbid_unknown,
            tag_field="kind" if tag is not None else None,
            tag=tag,
            gc=False,  # nothing in them can form a cycle: no collector walks them
        )
        self.structs[model] = built
        return built

    def type_of(self, annotation: Any, where: str) -> Any:
        if annotation is AwareDatetime:
            return str
        if annotation in (str, float):
            return annotation
        origin = get_origin(annotation)
        if origin is Literal:
            return annotation
        if origin in (Union, types.UnionType):
            members = [self.type_of(a, where) for a in get_args(annotation)]
            return Union[tuple(members)]  # noqa: UP007 (built from a runtime list)
        if origin is list:
            (item,) = get_args(annotation)
            return list[self.type_of(item, where)]  # type: ignore[misc]
        if annotation is type(None):
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.struct(annotation)
        raise TypeError(f"{where}: no compiled type for {annotation!r}")


def _constrained(annotation: Any, ge: Any) -> Any:
    """`annotation` (a float, perhaps optional) held to at least `ge`."""
    meta = typing.Annotated[float, msgspec.Meta(ge=ge)]
    if annotation is float:
        return meta
    args = get_args(annotation)
    if set(args) == {float, type(None)}:
        return Union[meta, None]  # noqa: UP007
    raise TypeError(f"a lower bound on {annotation!r} is not mapped")


def _decoder(forbid_unknown: bool) -> tuple[msgspec.json.Decoder[Any], _Generator]:
    generator = _Generator(forbid_unknown=forbid_unknown)
    members = tuple(generator.event(m) for m in EVENT_MODELS)
    return msgspec.json.Decoder(Union[members]), generator  # noqa: UP007


_STRICT, _STRICT_TYPES = _decoder(forbid_unknown=True)
_LENIENT, _LENIENT_TYPES = _decoder(forbid_unknown=False)
TIME_FIELDS = _STRICT_TYPES.times
"""The times each kind may carry besides `ts`."""
_KINDS = {**_STRICT_TYPES.kinds, **_LENIENT_TYPES.kinds}


_MINUTES: dict[str, int] = {}
"""The microseconds of each minute seen, by its text and zone ("2026-11-27T14:02+00:00")."""
_MINUTES_KEPT = 100_000


def _minute_us(minute: str, zone: str) -> int | None:
    text = f"{minute}:00{zone}"
    if _RFC3339(text) is None:
        return None
    try:
        return to_us(datetime.fromisoformat(text))
    except ValueError:  # 2026-02-30, hour 24: the models say why
        return None


def time_us(text: str) -> int | None:
    """Microseconds since the epoch for an RFC 3339 time the store keeps, in the one shape
    read here (`2026-11-27T14:02:11.123456+00:00`, the fraction optional, `Z` or an offset);
    None for any other (the models then decide)."""
    if not text.isascii():
        return None
    zone = text[-1:] if text[-1:] == "Z" else text[-6:]
    middle = text[19 : len(text) - len(zone)]
    micros = 0
    if middle:
        digits = middle[1:]
        if middle[0] != "." or not 1 <= len(digits) <= 6 or not digits.isdigit():
            return None
        micros = int(digits.ljust(6, "0"))
    seconds = text[17:19]
    if text[16:17] != ":" or not seconds.isdigit() or seconds > "59":
        return None  # a leap second, or not a time: the models say which
    minute = text[:16]
    key = minute + zone
    base = _MINUTES.get(key)
    if base is None:
        base = _minute_us(minute, zone)
        if base is None:
            return None
        if len(_MINUTES) >= _MINUTES_KEPT:
            _MINUTES.clear()
        _MINUTES[key] = base
    us = base + int(seconds) * 1_000_000 + micros
    return us if in_store_range(us) else None


_columns_tuple = tuple.__new__


def _columns(event: Any) -> EventColumns | None:
    kind = _KINDS[type(event)]
    ts_us = time_us(event.ts)
    if ts_us is None:
        return None
    for field in TIME_FIELDS[kind]:
        value = getattr(event, field)
        if value is not None and time_us(value) is None:
            return None
    model = getattr(event, "model", None)
    name: str | None
    if kind == "agent_action":
        name, version, weights = event.agent, None, None
    elif kind == "feedback":
        name, version, weights = event.target, None, None
    elif model is None:
        name, version, weights = getattr(event, "routed_from", None), None, None
    else:
        name, version, weights = model.name, model.version, model.weights_hash
    return _columns_tuple(  # EventColumns, without its Python-level constructor
        EventColumns,
        (
            ts_us,
            kind,
            getattr(event, "request_id", None),
            getattr(event, "subject", None),
            name,
            version,
            weights,
            event.route if kind == "inference" else None,
        ),
    )


def _standard(line: bytes) -> bool:
    """Whether a line the lenient decoder read holds nothing it may have skipped loosely."""
    if not line.isascii():
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return False
    if line.count(b"[") + line.count(b"{") > MAX_NESTING:
        return False
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def fast_columns(line: bytes) -> EventColumns | None:
    """The columns of a line the models would accept, or None: ask the models."""
    try:
        return _columns(_STRICT.decode(line))
    except msgspec.ValidationError:
        pass  # perhaps only an unknown key: the lenient decoder reads past those
    except msgspec.DecodeError:
        return None
    try:
        event = _LENIENT.decode(line)
    except msgspec.DecodeError:
        return None
    if not _standard(line):
        return None
    return _columns(event)
