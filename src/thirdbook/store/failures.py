"""What a SQLite error on the store means to the person at the terminal, in one sentence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from thirdbook.store.schema import SCHEMA_VERSION


def read_only_sentence(path: Path, reason: str) -> str:
    """Why a write is refused, and what still works."""
    return (
        f"cannot write to the store {path}: {reason}; read commands (status, events, "
        "verify, ...) and `thirdbook console --read-only` still work"
    )


def newer_schema_sentence(path: Path, version: int) -> str:
    """A store from a newer thirdbook."""
    return (
        f"the store {path} has schema version {version}, newer than this thirdbook "
        f"understands ({SCHEMA_VERSION}); upgrade thirdbook"
    )


def describe_failure(exc: BaseException, path: Path) -> str | None:
    """A sentence for a SQLite error raised on the store at `path`; None for anything else."""
    if not isinstance(exc, sqlite3.Error):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc) or type(exc).__name__
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or (
        "malformed" in text or "not a database" in text
    ):
        check = f"sqlite3 {path} 'PRAGMA integrity_check'"
        return (
            f"the store {path} is damaged ({text}): check it with `{check}` and restore "
            "it from a backup"
        )
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return (
            f"the disk holding the store {path} is full ({text}): the write that failed "
            "was rolled back; free some space and run the command again"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return (
            f"the store {path} cannot be written here ({text}); read commands and "
            "`thirdbook console --read-only` still work"
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return (
            f"reading or writing the store {path} failed ({text}): check the disk "
            f"(dmesg) and the store (`sqlite3 {path} 'PRAGMA integrity_check'`)"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return f"cannot open the store {path} ({text})"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"the store {path} is busy ({text}): another process holds its lock; try again"
    return f"the store {path} failed ({text})"
