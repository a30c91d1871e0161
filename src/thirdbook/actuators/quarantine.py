"""Quarantine: training data and fine-tunes a retrain must not use until the incident is done.

A target is a file (recorded with its SHA-256 and made read-only), a directory (every file in
it made read-only, each hash recorded), or an id that is not a path (a dataset or run id).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from thirdbook.domain.evidence import QuarantineTarget
from thirdbook.evidence.objects import hash_file


def inspect(target: str) -> list[QuarantineTarget]:
    """What quarantining `target` covers: a file, each file of a directory, or an id."""
    path = Path(target).expanduser()
    if path.is_file():
        return [
            QuarantineTarget(target=str(path.resolve()), kind="file", sha256=hash_file(path).sha256)
        ]
    if path.is_dir():
        found = [QuarantineTarget(target=str(path.resolve()), kind="directory", sha256=None)]
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            found.append(
                QuarantineTarget(
                    target=str(file.resolve()), kind="file", sha256=hash_file(file).sha256
                )
            )
        return found
    return [QuarantineTarget(target=target, kind="id", sha256=None)]


def make_read_only(target: QuarantineTarget) -> bool:
    """Take away write permission from a quarantined file; whether it could be done."""
    if target.kind != "file":
        return False
    try:
        mode = os.stat(target.target).st_mode
        os.chmod(target.target, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    except OSError:
        return False
    return True


def check_value(target: str) -> tuple[str, str | None]:
    """How `quarantine check` looks a target up: its resolved path and (for a file) hash."""
    path = Path(target).expanduser()
    if path.is_file():
        return str(path.resolve()), hash_file(path).sha256
    if path.exists():
        return str(path.resolve()), None
    return target, None
