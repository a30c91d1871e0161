"""Searching the bytes ingest has not stored yet for an id, as raw bytes, and reading each
line that holds it as ingest will (ingest/parse.py): through the source's format, refused
for the same reasons. A line that holds the id's bytes counts only if one of its events has
the id in the field asked about; one that reads as no event is a mention, with the reason.

A plain file is read in 16 MiB chunks, each searched where it lies (a raw search of 751 MB
takes about 0.3 s once the file is in the page cache; `mmap` is no faster warm, and would
fault on a file a copytruncate cuts short meanwhile); a compressed rotation is decompressed
as a stream, a chunk at a time, never whole in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from thirdbook.domain.events import BOM, Event, InferenceEvent, model_of, unkeepable_time
from thirdbook.domain.line_format import LineFormat, LineReject
from thirdbook.domain.records import to_us
from thirdbook.domain.unread import LogEvent, LogMention, UnreadSearch
from thirdbook.ingest.compressed import IncompleteError, UnreadableError, iter_content
from thirdbook.ingest.opening import OPEN_FLAGS
from thirdbook.ingest.unread_files import UnreadPlan, UnreadRange

_CHUNK = 16 << 20
"""Bytes of a plain file read (and searched) at a time."""
MAX_LINES = 10_000
"""At most this many lines holding the id's bytes are read (parsed) in one search."""

Accept = Callable[[Event], bool]
"""Whether an event read from a line is one the lookup asks for (its id in the right field)."""


@dataclass
class _Found:
    events: list[LogEvent] = field(default_factory=list)
    mentions: list[LogMention] = field(default_factory=list)
    lines: int = 0


def needles_for(value: str) -> list[bytes]:
    """The byte strings an id is written as in a line: UTF-8, and (when it differs) the
    ASCII-escaped JSON form a writer that escapes non-ASCII text uses."""
    import json

    plain = value.encode("utf-8", "surrogatepass")
    escaped = json.dumps(value)[1:-1].encode("ascii")
    return [plain] if escaped == plain else [plain, escaped]


def search_unread(
    plan: UnreadPlan, value: str, accept: Accept, max_line_bytes: int
) -> UnreadSearch:
    """Every event in the plan's ranges that `accept`s, and every line holding `value` that
    reads as no event; with how many bytes of how many files were searched."""
    needles = needles_for(value)
    found = _Found()
    searched = files = 0
    not_searched = list(plan.not_searched)
    for unread in plan.ranges:
        try:
            searched += _search_range(unread, needles, accept, max_line_bytes, found)
            files += 1
        except (OSError, ValueError, IncompleteError, UnreadableError) as exc:
            not_searched.append(f"{unread.path} could not be searched: {exc}")
        if found.lines >= MAX_LINES:
            not_searched.append(
                f"more than {MAX_LINES:,} lines hold {value!r}: only the first {MAX_LINES:,} "
                "were read"
            )
            break
    return UnreadSearch(
        events=found.events,
        mentions=found.mentions,
        bytes_searched=searched,
        files_searched=files,
        not_searched=not_searched,
    )


def _search_range(
    unread: UnreadRange, needles: list[bytes], accept: Accept, max_line_bytes: int, found: _Found
) -> int:
    """Search one range; returns the bytes of content searched."""
    fd = os.open(unread.path, OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (unread.dev, unread.ino):
            raise ValueError("it was replaced since it was listed")
        if unread.compressed is not None:
            chunks, first = iter_content(fd, unread.compressed), 0
        else:
            chunks, first = _plain_chunks(fd, unread.start, st.st_size), unread.start

        def line_at(line: bytes, offset: int, final: bool) -> None:
            _read_line(unread, line, offset, final, accept, max_line_bytes, found)

        return _search_chunks(chunks, first, unread.start, needles, max_line_bytes, line_at)
    finally:
        os.close(fd)


def _plain_chunks(fd: int, start: int, end: int) -> Iterator[bytes]:
    """The file's bytes from `start` to `end` (its size when opened), a chunk at a time.
    Read, not mapped: a file cut short meanwhile (a copytruncate) reads short, where a
    mapping would fault."""
    while start < end:
        data = os.pread(fd, min(_CHUNK, end - start), start)
        if not data:
            return
        yield data
        start += len(data)


def _search_chunks(
    chunks: Iterator[bytes],
    first: int,
    start: int,
    needles: list[bytes],
    max_line_bytes: int,
    line_at: Callable[[bytes, int, bool], None],
) -> int:
    """Call `line_at(line, offset, final)` for each line from content offset `start` (a line
    start) that holds a needle; `chunks` begin at content offset `first`. Each chunk is
    searched where it lies; only a line across two chunks is copied, and one longer than
    `max_line_bytes` is passed on once, cut (ingest refuses it). Returns the bytes searched."""
    base = first  # the content offset of the chunk's first byte
    carry, carry_at = b"", start  # a line begun in earlier chunks, and where it begins
    skipping = False  # inside an over-long line, until its newline
    for chunk in chunks:
        size = len(chunk)
        if base + size <= start:
            base += size
            continue
        lo = max(0, start - base)
        newline = chunk.find(b"\n", lo)
        if newline < 0:
            if not skipping:
                carry += chunk[lo:]
                skipping = _too_long(carry, carry_at, needles, max_line_bytes, line_at)
                carry = b"" if skipping else carry
            base += size
            continue
        if not skipping:
            line = carry + chunk[lo:newline]
            if any(n in line for n in needles):
                line_at(line, carry_at, False)
        skipping = False
        last = chunk.rfind(b"\n")
        for begin, end in _lines_holding(chunk, newline + 1, last + 1, needles):
            line_at(chunk[begin:end], base + begin, False)
        carry, carry_at = chunk[last + 1 :], base + last + 1
        skipping = _too_long(carry, carry_at, needles, max_line_bytes, line_at)
        carry = b"" if skipping else carry
        base += size
    if carry and any(n in carry for n in needles):
        line_at(carry, carry_at, True)
    return max(0, base - start)


def _too_long(
    carry: bytes,
    at: int,
    needles: list[bytes],
    max_line_bytes: int,
    line_at: Callable[[bytes, int, bool], None],
) -> bool:
    """Whether a line still without its newline is over the limit: then it is passed on
    (if it holds a needle; ingest refuses it for its length) and skipped to its end."""
    if len(carry) <= max_line_bytes:
        return False
    if any(n in carry for n in needles):
        line_at(carry, at, False)
    return True


def _lines_holding(buf: bytes, lo: int, hi: int, needles: list[bytes]) -> Iterator[tuple[int, int]]:
    """(start, end) of each line in `buf[lo:hi]` holding a needle, in order; `lo` is a line
    start; a line with no newline before `hi` ends at `hi`."""
    lines: dict[int, int] = {}
    for needle in needles:
        at = buf.find(needle, lo, hi)
        while at >= 0:
            begin = max(lo, buf.rfind(b"\n", lo, at) + 1)
            end = buf.find(b"\n", at, hi)
            end = hi if end < 0 else end
            lines[begin] = end
            at = buf.find(needle, end + 1, hi) if end < hi else -1
    yield from sorted(lines.items())


def _read_line(
    unread: UnreadRange,
    line: bytes,
    offset: int,
    final: bool,
    accept: Accept,
    max_line_bytes: int,
    found: _Found,
) -> None:
    """Read one line holding the id as ingest would; keep its accepted events, or mention it.
    The `final` line, not ended by a newline yet, may still be being written: it counts if
    it reads, and is not mentioned if it does not."""
    found.lines += 1
    if found.lines > MAX_LINES:
        return
    read = read_line(line, offset, unread.formats, max_line_bytes)
    if isinstance(read, str):
        if not final:
            _mention(unread, offset, read, found)
        return
    for index, event, raw in read:
        if not accept(event):
            continue
        name, version, weights = model_of(event)
        found.events.append(
            LogEvent(
                ts=event.ts,
                kind=event.kind,
                request_id=getattr(event, "request_id", None),
                subject=getattr(event, "subject", None),
                model_name=name,
                model_version=version,
                weights_hash=weights,
                route=event.route if isinstance(event, InferenceEvent) else None,
                source=unread.source,
                path=unread.path,
                byte_offset=offset,
                line_index=index,
                raw=raw,
                compressed=unread.compressed,
            )
        )


def _mention(unread: UnreadRange, offset: int, reason: str, found: _Found) -> None:
    found.mentions.append(
        LogMention(source=unread.source, path=unread.path, byte_offset=offset, reason=reason)
    )


def read_line(
    line: bytes, offset: int, formats: tuple[LineFormat, ...], max_line_bytes: int
) -> list[tuple[int, Event, bytes]] | str:
    """A line's events as ingest would store them ((index, event, raw kept)), or why ingest
    will refuse it. With several formats (a source this configuration does not name), the
    first that reads the line."""
    if len(line) > max_line_bytes:
        return f"a line of {len(line)} bytes, over the limit of {max_line_bytes}"
    body = line.removeprefix(BOM) if offset == 0 else line
    first_reason: str | None = None
    for line_format in formats:
        try:
            parsed = line_format.parse_line(body)
        except Exception as exc:  # a format's bug costs the line, as in ingest
            parsed = LineReject(f"the {line_format.name} format failed on this line: {exc!r}")
        if isinstance(parsed, LineReject):
            first_reason = first_reason or parsed.reason
            continue
        events: list[tuple[int, Event, bytes]] = []
        for index, (event, raw) in enumerate(parsed):
            refused = unkeepable_time(event, to_us(event.ts))
            if refused is not None:
                return refused if len(parsed) == 1 else f"event {index} of the line: {refused}"
            events.append((index, event, line if raw is None else raw))
        return events
    return first_reason or "no format reads it"
