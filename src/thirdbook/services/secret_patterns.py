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
    """Install the patterns from the cache, or from detect-secrets (then cache them)."""
    path = (cache_dir or user_cache_path("thirdbook")) / f"secret-patterns-{_install()}.json"
    with contextlib.suppress(OSError, ValueError, TypeError, re.error):
        specs = [_spec(item) for item in json.loads(path.read_bytes())]
        if len(specs) >= 10:  # a cache emptied or cut short is rebuilt, never trusted
            secrets.install(specs)
            return
    specs_now = secrets.detector_patterns()
    secrets.install(specs_now)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(specs_now).encode())


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
