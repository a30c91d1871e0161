"""Which files the configured sources point at now, by identity (device, inode)."""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from thirdbook.config import SourceConfig


@dataclass(frozen=True)
class Candidate:
    """A regular file matched by a source's paths or globs."""

    source: str
    path: str
    dev: int
    ino: int


def expand(pattern: str) -> list[str]:
    """The paths a pattern names now (a plain path, or a glob; `**` recurses)."""
    pattern = os.path.expanduser(pattern)
    if glob.has_magic(pattern):
        return sorted(glob.glob(pattern, recursive=True))
    return [pattern]


def discover(sources: list[SourceConfig]) -> dict[tuple[int, int], Candidate]:
    """Every regular file the sources match, keyed by identity; the first source wins."""
    found: dict[tuple[int, int], Candidate] = {}
    for source in sources:
        for pattern in source.paths:
            for path in expand(pattern):
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                key = (st.st_dev, st.st_ino)
                if key not in found:
                    found[key] = Candidate(source.name, os.path.abspath(path), *key)
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
    return sorted(roots), recursive


def find_by_identity(directory: str, dev: int, ino: int) -> str | None:
    """A name in `directory` for the file with this identity (a rotation while stopped)."""
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    if entry.inode() == ino and entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if st.st_dev == dev:
                            return entry.path
                except OSError:
                    continue
    except OSError:
        return None
    return None
