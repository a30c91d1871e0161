"""What went wrong, in one sentence, for failures of the machine rather than of thirdbook:
a damaged or full store, evidence that cannot be stored, a file that cannot be written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from thirdbook.domain.errors import StoreError
from thirdbook.evidence.objects import EvidenceWriteError
from thirdbook.store.failures import describe_failure


def explain(exc: BaseException, store_path: Path | None) -> str | None:
    """A sentence for `exc` (or what caused it) when it is such a failure; None when it is
    not (a bug, which its caller reports as unexpected)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in chain:
        if isinstance(cause, EvidenceWriteError | StoreError):
            return str(cause)
        found = describe_failure(cause, store_path or Path("(the store)"))
        if found is not None:
            return found
    for cause in chain:
        if isinstance(cause, OSError):
            return _os_error(cause)
    if isinstance(exc, MemoryError):
        return "it ran out of memory"
    return None


def _os_error(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else "a file"
    if exc.errno == errno.ENOSPC:
        return (
            f"no space is left on the device holding {name}; what failed was not "
            "recorded as done: free some space and run it again"
        )
    if exc.errno == errno.EROFS:
        return f"cannot write {name}: it is on a read-only filesystem"
    if exc.errno in {errno.EACCES, errno.EPERM}:
        return f"{name}: permission denied to this user (uid {os.geteuid()})"
    return f"{name}: {exc.strerror or exc}"
