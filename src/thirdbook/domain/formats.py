"""The log formats a source can name, registered by name; thirdbook JSON lines first.

A format registers itself when the module that defines its class is imported (the shipped
ones are imported here). A parse worker process is told a format's name and that module, and
looks the format up there (`format_named`), so any registered format runs in the workers.
"""

from __future__ import annotations

import importlib

from thirdbook.domain.line_format import LineFormat
from thirdbook.domain.otlp_json import OtlpJson
from thirdbook.domain.thirdbook_jsonl import ThirdbookJsonl

DEFAULT_FORMAT = "thirdbook"

_FORMATS: dict[str, LineFormat] = {}


class UnknownFormatError(ValueError):
    """No format is registered under a name; the message lists the known ones."""


def register(line_format: LineFormat) -> None:
    """Make `line_format` available under its name; a name is registered once."""
    name = line_format.name
    if not name or not name.isprintable() or name != name.strip():
        raise ValueError(f"a format's name must be printable text without edge spaces: {name!r}")
    held = _FORMATS.get(name)
    if held is not None and type(held) is not type(line_format):
        raise ValueError(f"the format name {name!r} is taken by {type(held).__qualname__}")
    _FORMATS[name] = line_format


def known_formats() -> list[str]:
    """The registered names, in the order they were registered."""
    return list(_FORMATS)


def unknown_format_sentence(name: str) -> str:
    """Why `name` cannot be used, naming the formats that can."""
    return f"unknown format {name!r}; the known formats are: {', '.join(known_formats())}"


def format_named(name: str, module: str | None = None) -> LineFormat:
    """The format registered as `name`, importing `module` (the one that registers it)
    first if it is not registered yet. Raises `UnknownFormatError`."""
    found = _FORMATS.get(name)
    if found is None and module is not None:
        importlib.import_module(module)
        found = _FORMATS.get(name)
    if found is None:
        raise UnknownFormatError(unknown_format_sentence(name))
    return found


def module_of(line_format: LineFormat) -> str:
    """The module that defines (and so registers) `line_format`."""
    return type(line_format).__module__


register(ThirdbookJsonl())
register(OtlpJson())
