"""The secret patterns, cached on disk per detect-secrets install: importing the library to
read them costs a quarter of a second, too much for a console's first paint (and asking
`importlib.metadata` for its version costs more than the rest of `thirdbook status`)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import zlib
from pathlib import Path

from platformdirs import user_cache_path

from thirdbook.atomic import write_atomically
from thirdbook.domain import secrets


def load_secret_patterns(cache_dir: Path | None = None) -> None:
    """Install the patterns from the cache, or from detect-secrets (then cache them, with
    their screens: parsing each pattern for its screen costs a start twice what reading the
    cache does)."""
    path = (cache_dir or user_cache_path("thirdbook")) / f"secret-patterns-{_install()}.json"
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError, re.error):
        cached = json.loads(path.read_bytes())
        specs = [_spec(item) for item in cached["patterns"]]
        screens = [_screen(item) for item in cached["screens"]]
        # A cache emptied, cut short or edited is rebuilt, never trusted.
        if len(specs) >= 10 and cached["check"] == _check(specs, screens):
            secrets.install(specs, screens)
            return
    specs_now = secrets.detector_patterns()
    secrets.install(specs_now)
    screens_now = secrets.installed_screens()
    cache = {"patterns": specs_now, "screens": screens_now}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({**cache, "check": _check(specs_now, screens_now)})
        write_atomically(path, data.encode())


def _check(specs: list[secrets.PatternSpec], screens: list[secrets.Screen]) -> int:
    """A checksum of what the cache holds, as read back (tuples and lists alike)."""
    return zlib.crc32(json.dumps([specs, screens]).encode())


def _install() -> str:
    """What tells one install of detect-secrets from another, found without importing it:
    where its package is, and when and how large its `__init__` was written."""
    try:
        spec = importlib.util.find_spec("detect_secrets")
        origin = None if spec is None else spec.origin
        st = os.stat(origin) if origin else None
    except (ImportError, ValueError, OSError):
        st = origin = None
    if st is None:
        return "unknown"
    return f"{zlib.crc32(str(origin).encode()):08x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def _screen(item: object) -> secrets.Screen:
    if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], bool):
        raise ValueError("not a screen")
    needs, folded = item
    if needs is None:
        return None, folded
    if not isinstance(needs, list) or not all(isinstance(n, str) and n for n in needs):
        raise ValueError("not a screen")
    return tuple(needs), folded


def _spec(item: object) -> secrets.PatternSpec:
    if not isinstance(item, list) or len(item) != 5:
        raise ValueError("not a pattern")
    kind, source, flags, group, gated = item
    if not (
        isinstance(kind, str)
        and isinstance(source, str)
        and isinstance(flags, int)
        and isinstance(group, int)
        and isinstance(gated, bool)
    ):
        raise ValueError("not a pattern")
    return kind, source, flags, group, gated
