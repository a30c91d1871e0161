"""The event batch chain: every committed batch of events and rejects, hashed and chained.

Ingest records each batch it commits, in the same transaction: a SHA-256 over the raw bytes of
its rows in id order (events, then rejects) followed by its header and each row's byte offset,
length and locator; and a chain hash linking it to the batch before, as the audit records are
linked. A locator is a row's Adler-32: it cannot prove a row unchanged (the SHA-256 does that)
but finds which row changed, for a quarter of the cost of a hash per row. `verify` recomputes
all of it from the rows, page by page, and names the first event (or reject) that changed, is
missing, or is in no batch.

The chain's first record stands for the rows stored before it existed (a store upgraded to
schema 11): their count and last ids, which can be counted but not re-hashed.
"""

from __future__ import annotations

import array
import hashlib
import struct
import sys
import zlib
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

LOCATOR = 4
"""Bytes of each row's locator."""
_CHUNK = 256  # rows hashed together: one call over their bytes, without the GIL


def locators(raws: Sequence[bytes]) -> bytes:
    """The rows' locators, big-endian, concatenated in order."""
    found = array.array("I", map(zlib.adler32, raws))
    assert found.itemsize == LOCATOR
    if sys.byteorder == "little":
        found.byteswap()
    return found.tobytes()


class BatchDigest:
    """The SHA-256 of a batch, fed its rows in order (events, then rejects)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256(b"thirdbook-batch-v1\n")
        self.offsets: list[int] = []
        self.lengths: list[int] = []

    def add(self, offsets: Sequence[int], raws: Sequence[bytes]) -> None:
        """Rows, in order: their raw bytes, byte offsets and lengths."""
        for start in range(0, len(raws), _CHUNK):
            self._sha.update(b"".join(raws[start : start + _CHUNK]))
        self.offsets.extend(offsets)
        self.lengths.extend(map(len, raws))

    def hexdigest(
        self,
        file_id: int,
        first_event_id: int | None,
        event_count: int,
        first_reject_id: int | None,
        row_locators: bytes,
    ) -> str:
        """The digest, closed with the batch's header, the rows' offsets, lengths and
        locators (so bytes moved from one row to the next change it too)."""
        sha, rows = self._sha.copy(), len(self.offsets)
        sha.update(
            f"\n{file_id}\n{first_event_id}\n{event_count}\n{first_reject_id}\n"
            f"{rows - event_count}\n".encode()
        )
        sha.update(struct.pack(f">{rows}q", *self.offsets))
        sha.update(struct.pack(f">{rows}q", *self.lengths))
        sha.update(row_locators)
        return sha.hexdigest()


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
    locators: bytes
    sha256: str
    prev_hash: str
    chain_hash: str
    unreadable: str | None = None
    """Why the stored record could not be read as one (a column of the wrong type)."""

    @property
    def predates(self) -> bool:
        """The record for the rows stored before the chain began."""
        return self.file_id is None and self.unreadable is None


def chain_hash(batch_id: int, prev_hash: str, sha256: str) -> str:
    """A batch record's link: its id, the previous record's chain hash and its content hash."""
    return hashlib.sha256(
        f"thirdbook-batch-chain-v1\n{batch_id}\n{prev_hash}\n{sha256}".encode()
    ).hexdigest()


def predating_link(record: BatchRecord) -> str:
    """The first record's chain hash, as migration 11 writes it in SQL (which has no SHA-256):
    its counts and last ids in words, so changing them breaks the link to the next record."""
    return (
        f"before the batch chain: events {record.last_event_id or 0}/{record.event_count}, "
        f"rejects {record.last_reject_id or 0}/{record.reject_count}"
    )
