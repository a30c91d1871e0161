"""Searching the bytes ingest has not stored yet for an id, as raw bytes, and reading each
line that holds it as ingest will (ingest/parse.py): through the source's format, refused
for the same reasons. A line that holds the id's bytes counts only if one of its events has
the id in the field asked about; one that reads as no event is a mention, with the reason.

A plain file is searched through `mmap` (no copy: a raw search of 751 MB takes a fraction
of a second once the file is in the page cache); a compressed rotation is decompressed as
a stream, a chunk at a time, never whole in memory.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from thirdbook.domain.events import BOM, Event, InferenceEvent, model_of, unkeepable_time
from thirdbook.domain.line_format import LineFormat, LineReject
from thirdbook.domain.records import to_us
from thirdbook.domain.unread import LogEvent, LogMention, UnreadSearch
from thirdbook.ingest.compressed import iter_content
from thirdbook.ingest.opening import OPEN_FLAGS
from thirdbook.ingest.unread_files import UnreadPlan, UnreadRange

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
        except (OSError, ValueError) as exc:
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
    """Search one range; returns the bytes searched."""
    fd = os.open(unread.path, OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (unread.dev, unread.ino):
            raise ValueError("it was replaced since it was listed")
        if unread.compressed is not None:
            return _search_stream(fd, unread, needles, accept, max_line_bytes, found)
        if st.st_size <= unread.start:
            return 0
        with mmap.mmap(fd, st.st_size, prot=mmap.PROT_READ) as view:
            with contextlib.suppress(OSError, AttributeError):
                view.madvise(mmap.MADV_SEQUENTIAL)
            for begin, end in _lines_holding(view, unread.start, st.st_size, needles):
                _read_line(unread, view[begin:end], begin, accept, max_line_bytes, found)
        return st.st_size - unread.start
    finally:
        os.close(fd)


def _lines_holding(
    buf: mmap.mmap | bytes, lo: int, hi: int, needles: list[bytes]
) -> Iterator[tuple[int, int]]:
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


def _search_stream(
    fd: int,
    unread: UnreadRange,
    needles: list[bytes],
    accept: Accept,
    max_line_bytes: int,
    found: _Found,
) -> int:
    """Search a compressed file's content from `unread.start`, a chunk at a time."""
    base = 0  # the content offset of `buf[0]`
    buf = b""
    skipping = False  # inside an over-long line, dropped until its newline
    for chunk in iter_content(fd, unread.compressed or ""):
        buf += chunk
        if base + len(buf) <= unread.start:
            base, buf = base + len(buf), b""
            continue
        if base < unread.start:
            buf, base = buf[unread.start - base :], unread.start
        last = buf.rfind(b"\n")
        if skipping:
            if last < 0:
                base, buf = base + len(buf), b""
                continue
            first = buf.find(b"\n") + 1
            buf, base, skipping = buf[first:], base + first, False
            last -= first
        if last >= 0:
            whole = buf[: last + 1]
            for begin, end in _lines_holding(whole, 0, len(whole), needles):
                _read_line(unread, whole[begin:end], base + begin, accept, max_line_bytes, found)
            buf, base = buf[last + 1 :], base + last + 1
        if len(buf) > max_line_bytes:
            if any(n in buf for n in needles):
                _mention(unread, base, f"a line over {max_line_bytes} bytes", found)
            base, buf, skipping = base + len(buf), b"", True
    if buf and not skipping and any(n in buf for n in needles):
        _read_line(unread, buf, base, accept, max_line_bytes, found)
    return max(0, base + len(buf) - unread.start)


def _read_line(
    unread: UnreadRange,
    line: bytes,
    offset: int,
    accept: Accept,
    max_line_bytes: int,
    found: _Found,
) -> None:
    """Read one line holding the id as ingest would; keep its accepted events, or mention it."""
    found.lines += 1
    if found.lines > MAX_LINES:
        return
    read = read_line(line, offset, unread.formats, max_line_bytes)
    if isinstance(read, str):
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
