"""The keys random identifiers (request ids, subjects) are indexed under in the store: plain
arithmetic, no models, so the quick reads (`store.quick_reads`) can use them too."""

from __future__ import annotations

import zlib


def lookup_key(text: str | None) -> int | None:
    """The 64-bit key a random identifier (request id, subject) is indexed under."""
    if text is None:
        return None
    # Two fast checksums side by side: the index only narrows the search (queries compare
    # the text itself), so speed matters here and collision resistance does not.
    data = text.encode("utf-8", "surrogatepass")
    return ((zlib.crc32(data) << 32) | zlib.adler32(data)) - (1 << 63)
