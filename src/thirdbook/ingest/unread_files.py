"""Which bytes of the sources ingest has not stored yet: each file the sources match (and each
rotation of them ingest would read), from its committed checkpoint to its end.

A file is known as ingest knows it (ingest/opening.py): by its identity (device, inode) and
the fingerprint of its first bytes, else, for a copy or a compressed rotation, by that
fingerprint alone. A file never tracked is unread from byte 0; a rotation never tracked is
read only if it was written after ingest began following its source, as ingest would. Each
tracked stream is searched in one file at most (the file that is it, else its copy), so
nothing is found twice. Only reads: nothing here moves a checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from thirdbook.config import SourceConfig
from thirdbook.domain.formats import format_named, known_formats
from thirdbook.domain.line_format import LineFormat
from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.compressed import READABLE, decompressed_head, sniff_bytes
from thirdbook.ingest.discovery import Candidate, discover, live_paths, rotations
from thirdbook.ingest.opening import OPEN_FLAGS
from thirdbook.ingest.tail import HEAD_BYTES, digest, read_at, tail_fingerprint

_UNFINISHED = ("active", "truncated")
"""Tracked states whose stream may still have unread bytes somewhere."""


@dataclass(frozen=True)
class UnreadRange:
    """One file's bytes not yet stored: from `start` to its end (in its content, for a
    compressed file). `formats` are tried in order: the source's own, or every known one for
    a source this configuration does not name (a file given to `thirdbook ingest`)."""

    source: str
    path: str
    start: int
    size: int
    formats: tuple[LineFormat, ...]
    compressed: str | None = None
    dev: int = 0
    ino: int = 0

    @property
    def unread(self) -> int:
        """Bytes past the checkpoint (for a compressed file, whose content's size is known
        only once it is decompressed: the compressed file's size)."""
        return self.size if self.compressed else max(0, self.size - self.start)


@dataclass
class UnreadPlan:
    """Every range to search, and unread bytes that cannot be searched, with why."""

    ranges: list[UnreadRange] = field(default_factory=list)
    not_searched: list[str] = field(default_factory=list)

    @property
    def unread_bytes(self) -> int:
        """The bytes past the checkpoints, over every range."""
        return sum(r.unread for r in self.ranges)


def plan_unread(
    sources: list[SourceConfig],
    tracked: Iterable[TrackedFile],
    started_us: dict[str, int | None],
) -> UnreadPlan:
    """The unread ranges of `sources` and of every unfinished tracked file (whichever source
    it belongs to), given the store's tracked files and when ingest first tracked each
    source (`started_us`, None: never)."""
    rows = list(tracked)
    named = {s.name for s in sources}
    every_format = tuple(format_named(name) for name in known_formats())
    formats: dict[str, tuple[LineFormat, ...]] = {
        s.name: (format_named(s.format),) for s in sources
    }
    others: dict[str, list[str]] = {}
    for row in rows:
        if row.state in _UNFINISHED and row.source not in named:
            others.setdefault(row.source, []).append(row.path)
    for name, paths in others.items():
        sources = [*sources, SourceConfig(name=name, paths=sorted(set(paths)))]
        formats[name] = every_format
    known: dict[str, set[str]] = {}
    for row in rows:
        if row.state == "active":
            known.setdefault(row.source, set()).add(row.path)
    discovery = discover(sources)
    live, _ = live_paths(sources, discovery, known)
    # What the patterns match is read whatever it is named (as ingest does); a rotation
    # found beside it only if ingest would read it.
    candidates = [(c, True) for c in discovery.found.values()]
    candidates += [(c, False) for c in rotations(sources, live, set(discovery.found))]
    plan = UnreadPlan()
    opened = [o for c, is_live in candidates if (o := _open(c, is_live, plan)) is not None]
    try:
        _assign(opened, rows, started_us, formats, plan)
    finally:
        for item in opened:
            with contextlib.suppress(OSError):
                os.close(item.fd)
    return plan


@dataclass
class _Opened:
    candidate: Candidate
    live: bool
    fd: int
    size: int
    mtime_ns: int
    compressed: str | None
    head: bytes


def _open(candidate: Candidate, live: bool, plan: UnreadPlan) -> _Opened | None:
    try:
        fd = os.open(candidate.path, OPEN_FLAGS)
    except OSError:
        return None  # gone since it was listed, or unreadable: ingest cannot read it either
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (candidate.dev, candidate.ino) or not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        head = read_at(fd, HEAD_BYTES, 0)
        kind = sniff_bytes(head[:6])
        if kind is not None:
            if kind not in READABLE:
                plan.not_searched.append(f"{candidate.path} is {kind}-compressed: not searched")
                os.close(fd)
                return None
            head = decompressed_head(fd, kind, HEAD_BYTES)
    except Exception as exc:  # an incomplete or corrupt compressed file, a read error
        with contextlib.suppress(OSError):
            os.close(fd)
        plan.not_searched.append(f"{candidate.path} cannot be searched now: {exc}")
        return None
    return _Opened(candidate, live, fd, st.st_size, st.st_mtime_ns, kind, head)


def _head_matches(head: bytes, row: TrackedFile) -> bool:
    return 0 < row.head_len <= len(head) and digest(head[: row.head_len]) == row.head_hash


def _assign(
    opened: list[_Opened],
    rows: list[TrackedFile],
    started_us: dict[str, int | None],
    formats: dict[str, tuple[LineFormat, ...]],
    plan: UnreadPlan,
) -> None:
    """Give each opened file its start: its own tracked stream's checkpoint, else that of
    the stream it copies, else 0 (or nothing, for an old rotation ingest would not read)."""
    newest_first = sorted(rows, key=lambda r: r.id, reverse=True)
    by_identity: dict[tuple[int, int], list[TrackedFile]] = {}
    for row in newest_first:
        by_identity.setdefault((row.dev, row.ino), []).append(row)
    taken: set[int] = set()
    rest: list[_Opened] = []
    for item in opened:
        c = item.candidate
        own = next(
            (r for r in by_identity.get((c.dev, c.ino), []) if _head_matches(item.head, r)), None
        )
        if own is None:
            rest.append(item)
            continue
        taken.add(own.id)
        unchanged = (own.stat_size, own.stat_mtime_ns) == (item.size, item.mtime_ns)
        if own.state == "released" and unchanged:
            continue  # read to its end, unchanged since
        _add(plan, item, own.offset, formats)
    for item in rest:
        copied = next(
            (
                r
                for r in newest_first
                if r.offset > 0 and (r.dev, r.ino) != (item.candidate.dev, item.candidate.ino)
                if _head_matches(item.head, r) and _holds_checkpoint(item, r)
            ),
            None,
        )
        if copied is not None:
            if copied.id in taken or (item.compressed and copied.state == "released"):
                continue  # a copy of a stream searched in its own file, or read to its end
            taken.add(copied.id)
            _add(plan, item, copied.offset, formats)
            continue
        if not item.live:
            started = started_us.get(item.candidate.source)
            if started is None or item.mtime_ns // 1000 < started:
                continue  # a rotation from before ingest began: ingest will not read it
        _add(plan, item, 0, formats)
    for row in newest_first:
        if row.state == "active" and row.id not in taken and row.size_seen > row.offset:
            plan.not_searched.append(
                f"{row.path} (read to byte {row.offset} of {row.size_seen} seen) is not "
                "where ingest last saw it: its unread rest was not searched"
            )


def _holds_checkpoint(item: _Opened, row: TrackedFile) -> bool:
    """Whether a copy holds `row`'s stream up to its checkpoint (a compressed rotation: its
    first bytes are proof enough, as for ingest)."""
    if item.compressed is not None:
        return True
    if item.size < row.offset:
        return False
    return tail_fingerprint(item.fd, row.offset) == row.tail_hash


def _add(
    plan: UnreadPlan, item: _Opened, start: int, formats: dict[str, tuple[LineFormat, ...]]
) -> None:
    c = item.candidate
    if item.compressed is None and item.size <= start:
        return
    plan.ranges.append(
        UnreadRange(
            source=c.source,
            path=c.path,
            start=start,
            size=item.size,
            formats=formats[c.source],
            compressed=item.compressed,
            dev=c.dev,
            ino=c.ino,
        )
    )
