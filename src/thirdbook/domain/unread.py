"""What a lookup found in the bytes of the sources that ingest has not stored yet: events
read from the log (provisional: not in the store, no event id), lines that mention the id
but could not be read, and what was searched. Pure data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from thirdbook.domain.events import Event, model_of
from thirdbook.domain.marks import FROM_LOG as FROM_LOG
from thirdbook.domain.records import EventColumns, EventFilter


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built when first used


class LogEvent(EventColumns):
    """An event parsed from a line ingest has not stored yet, with the columns the store
    would give it (`raw`: what the store would keep, thirdbook JSON; the line itself for a
    one-event format)."""

    compressed: str | None = None
    """The compression of the file it was read from (its offset is in the content)."""

    @property
    def where(self) -> str:
        """`path@offset` (within the decompressed content, for a compressed file)."""
        inside = f" (in its {self.compressed} content)" if self.compressed else ""
        return f"{self.path}@{self.byte_offset}{inside}"


class LogMention(_Part):
    """A line not yet ingested that holds the id's bytes but reads as no event (ingest will
    reject it), and why."""

    source: str
    path: str
    byte_offset: int
    reason: str


class UnreadSearch(_Part):
    """The not-yet-ingested bytes searched for one id, and what was found there."""

    events: list[LogEvent] = Field(default_factory=list)
    mentions: list[LogMention] = Field(default_factory=list)
    bytes_searched: int = 0
    files_searched: int = 0
    not_searched: list[str] = Field(default_factory=list)
    """Unread bytes that could not be searched, each with why (one sentence each)."""
    store_missing: bool = False
    """There is no store yet: the sources were searched from their first byte."""

    def searched(self) -> str:
        """What was searched, as a phrase: "the 1,024 bytes not yet ingested of 2 files"."""
        files = "1 file" if self.files_searched == 1 else f"{self.files_searched:,} files"
        what = "bytes of the sources" if self.store_missing else "bytes not yet ingested"
        return f"the {self.bytes_searched:,} {what} ({files})"

    def not_found(self, what: str) -> str:
        """The sentence for `what` ("request id 'x'") found nowhere: what was searched
        besides the store (or instead of it), and what could not be."""
        if not self.files_searched:
            sentence = (
                "there is no store yet, and the sources match no file"
                if self.store_missing
                else f"{what} is not in the store (and no bytes are waiting to be ingested)"
            )
        elif self.store_missing:
            searched = self.searched()
            sentence = f"there is no store yet, and {what} is not in {searched}, searched instead"
        else:
            sentence = f"{what} is not in the store, nor in {self.searched()}, searched too"
        for why in self.not_searched:
            sentence += f"; {why}"
        return sentence


def event_matches(where: EventFilter, event: Event) -> bool:
    """Whether an event read from a line passes a filter as its stored row would."""
    name, version, _ = model_of(event)
    checks = (
        (where.kind, event.kind),
        (where.model, name),
        (where.model_version, version),
        (where.request_id, getattr(event, "request_id", None)),
        (where.subject, getattr(event, "subject", None)),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return False
    if where.since is not None and event.ts < where.since:
        return False
    return where.until is None or event.ts < where.until
