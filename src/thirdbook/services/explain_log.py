"""`explain` that also reads what ingest has not stored yet.

The store answers when it holds the decision (as `ExplainService.explain` always has; no
file is read then). When it does not, the bytes past the committed checkpoints are searched
(services/unread_lookup.py), then the store is asked again (for a decision committed in
between), and a decision found in the log is explained from its line, marked provisional: the
model, prompt, response and action as logged; the registry check and the route from the
registry history the store holds for that time; related events from the store and from the
same unread bytes; the alerts keyed by its request id or subject. What only the store can
say about the event itself (alerts citing it by event, the snapshots holding it) is not
available until it is ingested. Without a store at all, the log alone answers.
"""

from __future__ import annotations

import contextlib

from thirdbook.domain.events import InferenceEvent, parse_stored_line
from thirdbook.domain.explain_render import summary_of
from thirdbook.domain.explanation import Explanation, ModelPart, Related, RouteWhy
from thirdbook.domain.records import EventFilter, to_us
from thirdbook.domain.unread import LogEvent, UnreadSearch
from thirdbook.services.explain import ExplainService, UnknownDecisionError
from thirdbook.services.unread_lookup import UnreadLookup

_RELATED_KINDS = ("feedback", "agent_action", "inquiry")


async def explain_with_log(
    explain: ExplainService | None,
    lookup: UnreadLookup,
    *,
    request_id: str | None = None,
    subject: str | None = None,
    inquiry_id: str | None = None,
) -> Explanation:
    """The explanation of a decision by request id or subject (its newest): from the store
    when it holds it, else from the bytes not yet ingested; by inquiry, from the store only.
    `explain` is None when there is no store yet. Raises `UnknownDecisionError` with what
    was searched."""
    if inquiry_id is not None:
        if explain is None:
            raise UnknownDecisionError(f"no inquiry {inquiry_id!r}: there is no store yet")
        return await explain.explain(inquiry_id=inquiry_id)
    what = f"request id {request_id!r}" if request_id else f"subject {subject!r}"
    if explain is not None:
        with contextlib.suppress(UnknownDecisionError):
            return await explain.explain(request_id=request_id, subject=subject)
    # Not in the store: the checkpoints now, then the bytes past them. A decision committed
    # after the store was asked and before the checkpoints were read is in neither: the
    # store is asked once more.
    plan = await lookup.plan()
    where = EventFilter(request_id=request_id) if request_id else EventFilter(subject=subject)
    found = await lookup.search(plan, where)
    for logged in found.events:  # newest first
        event = parse_stored_line(logged.raw)
        if logged.kind == "inference" and isinstance(event, InferenceEvent):
            return await _from_log(explain, logged, event, found)
    if explain is not None:
        with contextlib.suppress(UnknownDecisionError):
            return await explain.explain(request_id=request_id, subject=subject)
    raise UnknownDecisionError(
        f"no decision with {what}: {found.not_found('it')}{mentioned(found)}"
    )


def mentioned(found: UnreadSearch) -> str:
    """The lines not yet ingested that hold the id but read as no event, as a clause."""
    if not found.mentions:
        return ""
    shown = "; ".join(f"{m.path}@{m.byte_offset} ({m.reason})" for m in found.mentions[:3])
    more = f" and {len(found.mentions) - 3} more" if len(found.mentions) > 3 else ""
    if len(found.mentions) == 1:
        return f"; a line not yet ingested mentions it but could not be read: {shown}"
    return (
        f"; {len(found.mentions)} lines not yet ingested mention it but could not be read: "
        f"{shown}{more}"
    )


async def _from_log(
    explain: ExplainService | None, logged: LogEvent, e: InferenceEvent, found: UnreadSearch
) -> Explanation:
    at_us = to_us(e.ts)
    related = [
        Related(
            event_id=None,
            kind=other.kind,
            ts=other.ts,
            summary=summary_of(parse_stored_line(other.raw)),
            where=other.where,
        )
        for other in found.events
        if other.kind in _RELATED_KINDS
    ]
    if explain is None:
        model = ModelPart(model=e.model, check="unknown", check_note="there is no store yet")
        route = RouteWhy(route=e.route, routed_from=e.routed_from)
        citations = []
    else:
        model = await explain.model_part(e, at_us)
        route = await explain.route_why(e, at_us)
        related = [*related, *await explain.related_to(e)]
        keys = [k for k in (e.request_id, e.subject) if k]
        citations = await explain.citations([], keys)
    return Explanation(
        event_id=None,
        request_id=e.request_id,
        subject=e.subject,
        ts=e.ts,
        source=logged.source,
        path=logged.path,
        byte_offset=logged.byte_offset,
        model=model,
        prompt=e.prompt,
        response=e.response,
        action=e.action,
        route=route,
        related=related,
        citations=citations,
        provisional=True,
    )
