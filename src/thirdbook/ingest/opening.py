"""Which bytes of a newly seen file are new: its checkpoint, its start, or a copy's rest.

A file is known by identity (device, inode, fingerprints of its first bytes and of the bytes
before its checkpoint), so a rename, a truncation, an inode reused while ingest was stopped,
or a copytruncate's copy each gets the right starting point, and a file that vanished while
ingest was stopped is recorded as a gap.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.discovery import Candidate, find_by_identity
from thirdbook.ingest.tail import Tail, head_fingerprint, resume_verdict, tail_from

if TYPE_CHECKING:
    from thirdbook.ingest.ingester import Ingester


async def open_candidate(ingester: Ingester, candidate: Candidate) -> Tail | None:
    """Open a newly matched file and decide where to read it from: its checkpoint, 0, or
    where the truncated file it is a copy of had got to."""
    try:
        fd = os.open(candidate.path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        if candidate.path not in ingester._unopenable:
            ingester._unopenable.add(candidate.path)
            await ingester.store.ingest.add_note(None, "unreadable", f"{candidate.path}: {exc}")
        return None
    ingester._unopenable.discard(candidate.path)
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    if key != (candidate.dev, candidate.ino):
        os.close(fd)  # replaced between stat and open; the next pass sees the new one
        return None
    head_len, head_hash = head_fingerprint(fd)
    assert ingester._known is not None
    rows = ingester._known.pop(key, [])
    generation = 0
    supersedes: int | None = None
    note: tuple[str, str] | None = None
    for row in sorted(rows, key=lambda r: r.id, reverse=True):
        verdict = resume_verdict(fd, st.st_size, row)
        if verdict == "resume" and supersedes is None:
            if row.path != candidate.path:
                await ingester.store.ingest.update_path(
                    ingester.holder,
                    row.id,
                    candidate.path,
                    f"{row.path} was renamed {candidate.path} while ingest was stopped",
                )
            return tail_from(row, fd, candidate.path)
        if row.path == candidate.path or verdict == "truncated":
            # The same file, truncated (and perhaps written again) while we were stopped.
            generation, supersedes = row.generation + 1, row.id
            note = (
                "truncated",
                f"{candidate.path} was truncated or rewritten while ingest "
                f"was stopped ({row.offset} bytes had been read); reading again from 0",
            )
        else:
            await retire(ingester, row, "its inode now belongs to another file")
    continues = None if rows else await copied_from(ingester, fd, st.st_size)
    if continues is not None:
        note = (
            "copy",
            f"{candidate.path} is the copy of {continues.path} taken before it "
            f"was truncated; reading it from byte {continues.offset}, where ingest of "
            "the original had got to",
        )
    tracked = await ingester.store.ingest.add_file(
        ingester.holder,
        source=candidate.source,
        path=candidate.path,
        dev=key[0],
        ino=key[1],
        head_len=head_len,
        head_hash=head_hash,
        generation=generation,
        supersedes=supersedes,
        continues=continues,
        note=note,
    )
    return tail_from(tracked, fd, candidate.path)


async def copied_from(ingester: Ingester, fd: int, size: int) -> TrackedFile | None:
    """The truncated file this new file is a copy of (copytruncate), if any: its first
    bytes and the bytes before that file's checkpoint are the same."""
    for row in reversed(await ingester.store.ingest.files("truncated", newest=20)):
        if row.offset > 0 and resume_verdict(fd, size, row) == "resume":
            return row
    return None


async def retire(ingester: Ingester, row: TrackedFile, why: str) -> None:
    """A file we may not have finished is gone: record the gap, never silently."""
    if row.offset < row.size_seen:
        detail = (
            f"{row.path}: {why}; bytes {row.offset}..{row.size_seen} (and anything "
            "written later) were never read"
        )
    else:
        detail = (
            f"{row.path}: {why}; read to byte {row.offset}; anything written to it "
            "after that could not be read"
        )
    await ingester.store.ingest.set_state(ingester.holder, row.id, "gone", ("gap", detail))


async def resume_rotated_while_stopped(ingester: Ingester) -> None:
    """Finish files renamed away while we were stopped; record the ones that are gone."""
    assert ingester._known is not None
    leftovers = [row for rows in ingester._known.values() for row in rows]
    ingester._known.clear()
    for row in leftovers:
        path = find_by_identity(os.path.dirname(row.path), row.dev, row.ino)
        if path is not None:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                fd = -1
            if fd >= 0:
                if resume_verdict(fd, os.fstat(fd).st_size, row) == "resume":
                    await ingester.store.ingest.update_path(
                        ingester.holder,
                        row.id,
                        path,
                        f"{row.path} was rotated to {path} while ingest was stopped; "
                        "reading the rest of it",
                    )
                    tail = tail_from(row, fd, path)
                    tail.orphan_since = time.monotonic()
                    ingester.tails[tail.key] = tail
                    continue
                os.close(fd)
        await retire(ingester, row, "the file was rotated away or deleted while ingest was stopped")
