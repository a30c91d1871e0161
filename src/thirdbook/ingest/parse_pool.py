"""Worker processes that parse batches during a backfill, started on first use."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

PARSE_WORKERS = 2


class ParsePool:
    """A lazily started pool of parsing processes (forkserver: no inherited threads).

    If a worker cannot start or dies, the pool is marked broken and the ingester parses in
    its own process from then on.
    """

    def __init__(self, workers: int = PARSE_WORKERS) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    @property
    def usable(self) -> bool:
        """False once a worker has failed."""
        return not self._broken

    def executor(self) -> ProcessPoolExecutor:
        """The pool, started now if it is not running."""
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def broken(self) -> None:
        """Stop using worker processes."""
        self._broken = True
        self.close()

    def close(self) -> None:
        """Stop the workers, if they run."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
