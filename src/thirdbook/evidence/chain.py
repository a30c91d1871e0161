"""Verifying the audit chain, and checkpoints that catch a store rolled back to an older copy.

A checkpoint is the chain head (sequence number and hash) exported somewhere the store's
owner cannot quietly rewrite: a ticket, a chat message, another machine. A store restored
from an older copy lacks the checkpointed record, or holds a different one at its number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from thirdbook.domain.audit import AuditRecord, ChainHead, ChainProblem, check_chain
from thirdbook.domain.errors import CheckpointError
from thirdbook.store import Store


async def verify_chain(
    store: Store,
    checkpoint: ChainHead | None = None,
    on_page: Callable[[list[AuditRecord]], None] | None = None,
) -> list[ChainProblem]:
    """Every record re-hashed and re-linked, in pages; then the checkpoint, if given.
    `on_page` sees each page once it checks (to read what the chain records, in one walk).

    Returns the problems found: the first break in the chain (names its sequence number), and
    whether the checkpointed record is missing or different.
    """
    problems: list[ChainProblem] = []
    last: ChainHead | None = None
    at_checkpoint: str | None = None
    async for page in store.audit.walk():
        problem = check_chain(page, last)
        if problem is not None:
            problems.append(problem)
            break
        if on_page is not None:
            on_page(page)
        if checkpoint is not None:
            at_checkpoint = next((r.hash for r in page if r.seq == checkpoint.seq), at_checkpoint)
        last = ChainHead(seq=page[-1].seq, hash=page[-1].hash)
    if checkpoint is not None and not problems:
        if last is None or last.seq < checkpoint.seq:
            problems.append(
                ChainProblem(
                    seq=checkpoint.seq,
                    reason=f"the store ends at record {0 if last is None else last.seq}, "
                    "before the "
                    f"checkpointed record {checkpoint.seq}: it was rolled back to an older copy",
                )
            )
        elif at_checkpoint != checkpoint.hash:
            problems.append(
                ChainProblem(
                    seq=checkpoint.seq,
                    reason="the record at the checkpoint differs from the one checkpointed: the "
                    "chain was rewritten or the store replaced",
                )
            )
    return problems


def write_checkpoint(head: ChainHead, path: Path) -> None:
    """The chain head as a small JSON file."""
    path.write_text(json.dumps({"seq": head.seq, "hash": head.hash}) + "\n", encoding="utf-8")


def read_checkpoint(path: Path) -> ChainHead:
    """A checkpoint written by `write_checkpoint` (or typed by hand: `{"seq": N, "hash": H}`)."""
    try:
        return ChainHead.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise CheckpointError(f"{path}: not a chain checkpoint: {exc}") from exc
