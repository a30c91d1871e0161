"""The secret patterns, cached on disk per detect-secrets version: importing the library to
read them costs a quarter of a second, too much for a console's first paint."""

from __future__ import annotations

import contextlib
import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from platformdirs import user_cache_path

from thirdbook.atomic import write_atomically
from thirdbook.domain import secrets


def load_secret_patterns(cache_dir: Path | None = None) -> None:
    """Install the patterns from the cache, or from detect-secrets (then cache them)."""
    try:
        release = version("detect-secrets")
    except PackageNotFoundError:
        release = "unknown"
    path = (cache_dir or user_cache_path("thirdbook")) / f"secret-patterns-{release}.json"
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
