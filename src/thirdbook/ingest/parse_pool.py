"""Worker processes that parse batches during a backfill, started on first use.

A worker never outlives the ingester that started it: each one watches that process and
exits when it is gone (killed, even with SIGKILL, so no shutdown ran), and with the workers
gone multiprocessing's fork server and resource tracker exit too.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PARSE_WORKERS = 2
_POLL_S = 0.5
PRELOAD = ["thirdbook.ingest.parse"]
"""Imported once by the fork server, before it forks the workers (each starts with the
parser and the formats loaded instead of importing them itself)."""


def _wait_for_exit(owner: int) -> None:
    """Return once process `owner` has exited."""
    try:
        handle = os.pidfd_open(owner)
    except ProcessLookupError:
        return
    except (OSError, AttributeError):  # no pidfd here: look every half second
        while _alive(owner):
            time.sleep(_POLL_S)
        return
    try:
        select.select([handle], [], [])
    finally:
        os.close(handle)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _exit_with(owner: int) -> None:  # a worker's initializer
    def watch() -> None:
        _wait_for_exit(owner)
        os._exit(0)  # nobody is left to take a result: stop now, mid-batch or not

    threading.Thread(target=watch, name="exit-with-ingester", daemon=True).start()


class ParsePool:
    """A lazily started pool of parsing processes (forkserver: no inherited threads).

    If a worker cannot start or dies, the pool is marked broken (`broken_reason` says why)
    and the ingester parses in its own process from then on.
    """

    def __init__(self, workers: int = PARSE_WORKERS) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self.broken_reason: str | None = None

    @property
    def usable(self) -> bool:
        """False once a worker has failed."""
        return self.broken_reason is None

    def executor(self) -> ProcessPoolExecutor:
        """The pool, started now if it is not running."""
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)  # heeded when the fork server starts
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
        return self._pool

    def worker_pids(self) -> list[int]:
        """The worker processes running now."""
        return [p.pid for p in self._workers() if p.pid is not None and p.is_alive()]

    def _workers(self) -> list[multiprocessing.process.BaseProcess]:
        # The executor keeps its processes in a private mapping, the only way to reach them.
        processes = None if self._pool is None else self._pool._processes
        return list(processes.values()) if processes else []

    def broken(self, reason: str) -> None:
        """Stop using worker processes, saying why."""
        self.broken_reason = reason
        self.close()

    def close(self) -> None:
        """Stop the workers, if they run: queued batches are dropped, and a batch being
        parsed is abandoned (nothing past the committed offset is kept)."""
        running = self._workers()
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        for process in running:
            with contextlib.suppress(OSError, ValueError):
                process.terminate()
