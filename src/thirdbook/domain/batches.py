"""The event batch chain: every committed batch of events and rejects, hashed and chained.

Ingest records each batch it commits, in the same transaction: 16 bytes of SHA-256 of each
row's raw bytes (events, then rejects, in id order), a SHA-256 over the batch's header, the
rows' byte offsets and those digests, and a chain hash linking it to the batch before, as the
audit records are linked. `verify` recomputes all of it from the rows, page by page, and names
the first event (or reject) whose raw bytes changed, that is missing, or that no batch holds.

The chain's first record stands for the rows stored before it existed (a store upgraded to
schema 11): their count and last ids, which cannot be re-hashed, only counted.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

DIGEST = 16
"""Bytes of each row's SHA-256 kept: enough to tell which row changed."""


def row_digests(raws: Sequence[bytes]) -> bytes:
    """The rows' digests, concatenated in order."""
    sha = hashlib.sha256
    return b"".join([sha(raw).digest()[:DIGEST] for raw in raws])


def row_digest(raw: bytes) -> bytes:
    """One row's digest."""
    return hashlib.sha256(raw).digest()[:DIGEST]


class BatchRecord(BaseModel):
    """One record of the chain as stored. The first (`file_id` None) stands for the rows
    stored before the chain; every later one for one committed batch."""

    model_config = ConfigDict(frozen=True, strict=True)

    id: int
    file_id: int | None
    first_event_id: int | None
    last_event_id: int | None
    event_count: int
    first_reject_id: int | None
    last_reject_id: int | None
    reject_count: int
    digests: bytes
    sha256: str
    prev_hash: str
    chain_hash: str
    unreadable: str | None = None
    """Why the stored record could not be read as one (a column of the wrong type)."""

    @property
    def predates(self) -> bool:
        """The record for the rows stored before the chain began."""
        return self.file_id is None and self.unreadable is None


def batch_sha256(
    file_id: int,
    first_event_id: int | None,
    event_offsets: Sequence[int],
    first_reject_id: int | None,
    reject_offsets: Sequence[int],
    digests: bytes,
) -> str:
    """SHA-256 over a batch's header, its rows' byte offsets and their digests."""
    digest = hashlib.sha256()
    digest.update(f"thirdbook-batch-v1\n{file_id}\n{first_event_id}\n{len(event_offsets)}\n"
                  f"{first_reject_id}\n{len(reject_offsets)}\n".encode())  # fmt: skip
    digest.update(struct.pack(f">{len(event_offsets)}q", *event_offsets))
    digest.update(struct.pack(f">{len(reject_offsets)}q", *reject_offsets))
    digest.update(digests)
    return digest.hexdigest()


def chain_hash(batch_id: int, prev_hash: str, sha256: str) -> str:
    """A batch record's link: its id, the previous record's chain hash and its content hash."""
    return hashlib.sha256(f"thirdbook-batch-chain-v1\n{batch_id}\n{prev_hash}\n{sha256}"
                          .encode()).hexdigest()  # fmt: skip


def predating_link(record: BatchRecord) -> str:
    """The first record's chain hash, as migration 11 writes it in SQL (which has no SHA-256):
    its counts and last ids in words, so changing them breaks the link to the next record."""
    return (f"before the batch chain: events {record.last_event_id or 0}/{record.event_count}, "
            f"rejects {record.last_reject_id or 0}/{record.reject_count}")  # fmt: skip
