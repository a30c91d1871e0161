"""Which files the configured sources point at now, by identity (device, inode)."""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from thirdbook.config import SourceConfig


@dataclass(frozen=True)
class Candidate:
    """A regular file matched by a source's paths or globs (or a rotation of one)."""

    source: str
    path: str
    dev: int
    ino: int
    size: int = -1
    mtime_ns: int = -1


@dataclass
class Discovery:
    """What the sources match now: files by identity, and links refused with why."""

    found: dict[tuple[int, int], Candidate] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def expand(pattern: str) -> list[str]:
    """The paths a pattern names now (a plain path, or a glob; `**` recurses)."""
    pattern = os.path.expanduser(pattern)
    if glob.has_magic(pattern):
        return sorted(glob.glob(pattern, recursive=True))
    return [pattern]


def is_plain(pattern: str) -> bool:
    """Whether a pattern is a plain path (no glob magic)."""
    return not glob.has_magic(os.path.expanduser(pattern))


def base_dir(pattern: str) -> str:
    """The directory a pattern cannot leave: its last directory without glob magic."""
    base = os.path.dirname(os.path.abspath(os.path.expanduser(pattern)))
    while glob.has_magic(base):
        base = os.path.dirname(base)
    return os.path.realpath(base)


def inside(path: str, directory: str) -> bool:
    """Whether `path` (already resolved) is `directory` or below it."""
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:
        return False


def discover(sources: list[SourceConfig]) -> Discovery:
    """Every regular file the sources match, keyed by identity; the first source wins.

    A symbolic link is followed only to a regular file inside the pattern's own directory,
    and is then known by its target's identity and real path (so a link to another watched
    file is read once); any other link is refused, unread, with the reason.
    """
    result = Discovery()
    for source in sources:
        for pattern in source.paths:
            root = base_dir(pattern)
            for path in expand(pattern):
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                real = os.path.abspath(path)
                if stat.S_ISLNK(st.st_mode):
                    target = os.path.realpath(path)
                    if not inside(target, root):
                        result.refused[real] = (
                            f"a symbolic link to {target}, outside {root}; not followed"
                        )
                        continue
                    try:
                        st = os.stat(target)
                    except OSError:
                        continue
                    real = target
                if not stat.S_ISREG(st.st_mode):
                    continue
                key = (st.st_dev, st.st_ino)
                if key not in result.found:
                    result.found[key] = Candidate(
                        source.name, real, *key, st.st_size, st.st_mtime_ns
                    )
    return result


def rotations(
    sources: list[SourceConfig],
    live: dict[str, set[str]],
    skip: set[tuple[int, int]],
) -> list[Candidate]:
    """Files that look like rotations of a source's live files and are not matched already.

    A rotation of `app.jsonl` is a regular file (never a link) named `app.jsonl` followed by
    `.`, `-` or `_` and anything (`app.jsonl.1`, `app.jsonl.2.gz`, `app.jsonl-20261201`), in
    the live file's own directory or one of the source's `olddirs`. `live` maps each source
    to the paths of its live files (matched now, or tracked).
    """
    found: list[Candidate] = []
    seen: set[tuple[int, int]] = set(skip)
    for source in sources:
        paths = live.get(source.name, set())
        names = {os.path.basename(p) for p in paths}
        if not names:
            continue
        prefixes = tuple(n + sep for n in names for sep in ".-_")
        directories = {os.path.dirname(p) for p in paths}
        directories.update(os.path.abspath(os.path.expanduser(d)) for d in source.olddirs)
        for directory in sorted(directories):
            try:
                with os.scandir(directory) as entries:
                    listing = [e for e in entries if e.name.startswith(prefixes)]
            except OSError:
                continue
            for entry in listing:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                key = (st.st_dev, st.st_ino)
                if not stat.S_ISREG(st.st_mode) or key in seen:
                    continue
                seen.add(key)
                found.append(Candidate(source.name, entry.path, *key, st.st_size, st.st_mtime_ns))
    found.sort(key=lambda c: c.mtime_ns)
    return found


def watch_roots(sources: list[SourceConfig]) -> tuple[list[Path], bool]:
    """The existing directories to watch for the sources, and whether any glob recurses."""
    roots: set[Path] = set()
    recursive = False
    for source in sources:
        for pattern in source.paths:
            pattern = os.path.expanduser(pattern)
            recursive = recursive or "**" in pattern
            base = Path(pattern)
            while glob.has_magic(str(base)) or not base.is_dir():
                if base.parent == base:
                    break
                base = base.parent
            if base.is_dir():
                roots.add(base.resolve())
        for directory in source.olddirs:
            path = Path(directory).expanduser()
            if path.is_dir():
                roots.add(path.resolve())
    return sorted(roots), recursive


def _rotation_of(name: str, names: set[str]) -> bool:
    return any(name != n and name.startswith((n + ".", n + "-", n + "_")) for n in names)


def live_paths(
    sources: list[SourceConfig], discovery: Discovery, known: dict[str, set[str]]
) -> tuple[dict[str, set[str]], set[str]]:
    """Each source's live files (plain paths, matches that are not rotations of another
    match, and the live files it tracked, which may be missing for a moment), and the
    matches that are rotations (`app.jsonl.1` beside `app.jsonl`). `known` gains the live
    files matched now."""
    live: dict[str, set[str]] = {}
    rotation_named: set[str] = set()
    for source in sources:
        paths = {c.path for c in discovery.found.values() if c.source == source.name}
        plain = {os.path.abspath(os.path.expanduser(p)) for p in source.paths if is_plain(p)}
        tracked = known.setdefault(source.name, set())
        names = {os.path.basename(p) for p in paths | plain | tracked}
        rotated = {p for p in paths | tracked if _rotation_of(os.path.basename(p), names)}
        rotation_named |= rotated & paths
        live[source.name] = ((paths | tracked) - rotated) | plain
        tracked |= live[source.name]
    return live, rotation_named
