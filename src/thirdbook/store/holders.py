"""The ingest lease's name, and whether a holder is live: what the lease table
(`store.leases`), the health line and the quick reads of `status` all need, without models."""

from __future__ import annotations

import os
import time

INGEST_LEASE = "ingest"
"""The name of the lease whose holder ingests the store (one process at a time)."""


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_live(host: str, pid: int, heartbeat_s: float, ttl_s: float) -> bool:
    """Whether another process's lease is live: its heartbeat (seconds since the epoch)
    younger than the time to live, and, on this host, its process still there."""
    if time.time() - heartbeat_s >= ttl_s:
        return False
    # The host a lease is taken on is `socket.gethostname()`, which is the kernel's node
    # name: read here without importing socket.
    return process_alive(pid) if host == os.uname().nodename else True
