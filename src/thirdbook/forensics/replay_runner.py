"""Sending every input to both versions, bounded in flight, resumable and cancellable.

The runner knows no store: it is given the inputs, the endpoints, the pairs already
answered (resume) and a sink that keeps each answer as it arrives (so a cancel keeps what
was answered).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from thirdbook.config import ReplayExtractConfig
from thirdbook.domain.replay_payload import ChatMessage
from thirdbook.domain.text import visible
from thirdbook.forensics.replay_endpoints import Answer, Endpoint, EndpointError
from thirdbook.forensics.replay_verdict import extract_decision


@dataclass(frozen=True)
class ReplayInput:
    """One logged decision to replay: its request id and its captured chat messages."""

    request_id: str
    messages: list[ChatMessage]


@dataclass(frozen=True)
class ReplayAnswer:
    """One version's answer to one input: `answer` is what came back (a failure's body
    too, with `error` saying why it is unusable), None when nothing did."""

    request_id: str
    version: str
    endpoint: str
    request: dict[str, object]
    answer: Answer | None
    decision: str | None
    error: str | None
    elapsed_s: float

    @property
    def shown_text(self) -> str:
        """The answer's text as safe to show (sanitised like any log text); the error when
        there is no text (a failed answer keeps its body in `answer`, with no content)."""
        if self.answer is None or not self.answer.content:
            return visible(self.error or "")
        return visible(self.answer.content)


@dataclass
class Progress:
    """Counts for the progress line."""

    total: int
    done: int = 0
    failed: int = 0
    started: float = 0.0

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first answer)."""
        if self.done == 0:
            return None
        pace = (time.monotonic() - self.started) / self.done
        return pace * (self.total - self.done)


Sink = Callable[[ReplayAnswer], Awaitable[None]]


async def run_replay(
    inputs: Iterable[ReplayInput],
    endpoints: Sequence[Endpoint],
    *,
    concurrency: int,
    extract: ReplayExtractConfig,
    sink: Sink,
    answered: set[tuple[str, str]] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: asyncio.Event | None = None,
) -> Progress:
    """Send each input to each endpoint not already answered for it, at most
    `concurrency` requests in flight; each answer goes to `sink` as it arrives. A set
    `cancel` stops new requests and cancels those in flight (answers kept so far stay)."""
    done_pairs = answered or set()
    work = [
        (item, endpoint)
        for item in inputs
        for endpoint in endpoints
        if (item.request_id, endpoint.version) not in done_pairs
    ]
    progress = Progress(total=len(work), started=time.monotonic())
    queue: asyncio.Queue[tuple[ReplayInput, Endpoint]] = asyncio.Queue()
    for pair in work:
        queue.put_nowait(pair)

    async def worker() -> None:
        while not queue.empty():
            if cancel is not None and cancel.is_set():
                return
            item, endpoint = queue.get_nowait()
            result = await _one(item, endpoint, extract)
            await sink(result)
            progress.done += 1
            progress.failed += result.error is not None
            if on_progress is not None:
                on_progress(progress)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(work)))]
    if not tasks:
        return progress
    waiter = asyncio.gather(*tasks)
    if cancel is None:
        await waiter
        return progress
    stop: asyncio.Future[Any] = asyncio.ensure_future(cancel.wait())
    pending: list[asyncio.Future[Any]] = [waiter, stop]
    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if not waiter.done():
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    stop.cancel()
    return progress


async def _one(item: ReplayInput, endpoint: Endpoint, extract: ReplayExtractConfig) -> ReplayAnswer:
    started = time.monotonic()
    request = endpoint.request_body(item.messages)
    answer: Answer | None = None
    decision: str | None = None
    error: str | None = None
    try:
        answer = await endpoint.answer(item.messages)
    except EndpointError as exc:  # what it sent back, if anything, is kept all the same
        error, answer = str(exc), exc.received
    else:
        try:
            decision = await extract_decision(answer.content, extract)
        except EndpointError as exc:
            error = str(exc)
    return ReplayAnswer(
        request_id=item.request_id,
        version=endpoint.version,
        endpoint=endpoint.display,
        request=request,
        answer=answer,
        decision=decision,
        error=error,
        elapsed_s=time.monotonic() - started,
    )
