"""The few settings a quick read needs (the store's configured path, the busy timeout, the
ingest lease's time to live, the registry file and whether a link there is followed; for
the console's first frame, its look and how many sources are configured), remembered from the
last time the same config file was loaded.

Validating `thirdbook.toml` means importing pydantic and every settings model, several times
what `thirdbook status` costs without them. So each full load (`Context.load`) leaves these
values in the user's cache directory beside the file's bytes (or its absence) and this
thirdbook's version and config module; a quick read takes them only for a file that this
same code has already validated, byte for byte. Anything else (a new or changed file, a
cache that cannot be read) gives None: the caller loads the config file in full, which
validates it and remembers it for the next time.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from platformdirs import user_cache_path

import thirdbook
from thirdbook import locations
from thirdbook.atomic import write_atomically
from thirdbook.services.secret_patterns import load_secret_patterns
from thirdbook.store.quick_reads import QuickReads

if TYPE_CHECKING:
    from thirdbook.config import Settings


class QuickLook(NamedTuple):
    """`[console]`'s look, as the console's first frame needs it (see `tui.look`)."""

    theme: str
    keymap: dict[str, str]
    themes_dir: Path | None


class QuickSettings(NamedTuple):
    """What a quick read takes from the config file."""

    store_path: Path | None
    """`[store] path` (None: the data directory's store)."""
    busy_timeout_ms: int
    lease_ttl_s: float
    registry: Path | None
    """`[containment] registry` (None: none configured)."""
    follow_control_symlinks: bool
    console: QuickLook
    sources: int
    """How many sources are configured (a console with none starts no ingest helper)."""


def _code() -> str:
    """This thirdbook's version and its config module's stamp: a change of either (a release,
    an edit in a checkout) may change what validates."""
    st = Path(thirdbook.__file__).with_name("config.py").stat()
    return f"{thirdbook.__version__} {st.st_mtime_ns} {st.st_size}"


def _entry(source: bytes | None, code: str, cache_dir: Path | None) -> Path:
    seen = f"{code}\0".encode() + (b"-" if source is None else b"+" + source)
    name = f"settings-{zlib.crc32(seen):08x}-{len(seen):x}.json"
    return (cache_dir or user_cache_path("thirdbook")) / name


def _read(path: Path, source: bytes | None, code: str) -> QuickSettings | None:
    try:
        found: Any = json.loads(path.read_bytes())
        same = found["code"] == code and found["source"] == (
            None if source is None else source.hex()
        )
        store, busy, ttl = found["store_path"], found["busy_timeout_ms"], found["lease_ttl_s"]
        registry, follow = found["registry"], found["follow_control_symlinks"]
        look, sources = found["console"], found["sources"]
        theme, keymap, themes = look["theme"], look["keymap"], look["themes_dir"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not (
        same
        and (store is None or isinstance(store, str))
        and type(busy) is int
        and type(ttl) in (int, float)
        and (registry is None or isinstance(registry, str))
        and type(follow) is bool
        and type(sources) is int
        and isinstance(theme, str)
        and isinstance(keymap, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in keymap.items())
        and (themes is None or isinstance(themes, str))
    ):
        return None
    return QuickSettings(
        None if store is None else Path(store),
        busy,
        float(ttl),
        None if registry is None else Path(registry),
        follow,
        QuickLook(theme, keymap, None if themes is None else Path(themes)),
        sources,
    )


def remember(source: bytes | None, settings: Settings, cache_dir: Path | None = None) -> None:
    """Keep what a quick read needs of `settings`, validated from `source` (the config
    file's bytes; None: there was none). Written once per file (nothing when it is there
    already); a cache that cannot be written is left alone."""
    with contextlib.suppress(OSError):
        code = _code()
        path = _entry(source, code, cache_dir)
        if _read(path, source, code) is not None:
            return
        store, registry, look = settings.store.path, settings.containment.registry, settings.console
        entry = {
            "code": code,
            "source": None if source is None else source.hex(),
            "store_path": None if store is None else str(store),
            "busy_timeout_ms": settings.store.busy_timeout_ms,
            "lease_ttl_s": settings.ingest.lease_ttl_s,
            "registry": None if registry is None else str(registry),
            "follow_control_symlinks": settings.containment.follow_control_symlinks,
            "console": {
                "theme": look.theme,
                "keymap": dict(look.keymap),
                "themes_dir": None if look.themes_dir is None else str(look.themes_dir),
            },
            "sources": len(settings.sources),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(entry).encode(), sync_dir=False)


def recall(config_file: Path, cache_dir: Path | None = None) -> QuickSettings | None:
    """What was remembered for the config file as it is now; None if nothing was (or the
    file cannot be read: the full load says why)."""
    try:
        source: bytes | None = config_file.read_bytes()
    except FileNotFoundError:
        source = None
    except OSError:
        return None
    try:
        code = _code()
    except OSError:
        return None
    return _read(_entry(source, code, cache_dir), source, code)


def quick_store(
    data_dir: Path | None, config: Path | None, *, demo: bool
) -> tuple[QuickReads, QuickSettings] | None:
    """The store a command works on, open for quick reads (`store.quick_reads`), with the
    settings remembered for its config file, and the secret patterns installed (what
    `Context.load` does besides); None where the config file or the store needs the full
    path (`Context.load`, `Store.open`)."""
    settings = recall(locations.config_file(config))
    if settings is None:
        return None
    data = locations.data_dir(data_dir)
    path = locations.chosen_store_file(data, settings.store_path, demo=demo)
    reads = QuickReads.open(path, settings.busy_timeout_ms)
    if reads is None:
        return None
    load_secret_patterns()
    return reads, settings
