"""Replay runs and their answers; a run's end and a commander's mark are audited and on the
incident's timeline in the same transaction."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from thirdbook.domain.audit import Outcome
from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.domain.records import from_us
from thirdbook.domain.replay import ReplayRun, StoredAnswer
from thirdbook.store.audit import append_audit
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

_RUN = (
    "id, incident_id, known_good, suspect, inputs, by_user, started_us, finished_us, status, "
    "verdict, counts, skipped"
)
_ANSWER = (
    "run_id, request_id, version, endpoint, request_sha256, answer_sha256, decision, error, "
    "expected, expected_source"
)


def _counts(text: Any) -> dict[str, int]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _run(row: Any) -> ReplayRun:
    return ReplayRun(
        id=row[0],
        incident_id=row[1],
        known_good=row[2],
        suspect=row[3],
        inputs=row[4],
        by=row[5],
        started=from_us(row[6]),
        finished=None if row[7] is None else from_us(row[7]),
        status=row[8],
        verdict=row[9],
        counts=_counts(row[10]),
        skipped=_counts(row[11]),
    )


def _answer(row: Any) -> StoredAnswer:
    return StoredAnswer(**dict(zip(_ANSWER.split(", "), tuple(row), strict=True)))


class ReplayRuns:
    """Start, answer, finish and mark replay runs."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def start(
        self,
        incident_id: int,
        known_good: str,
        suspect: str,
        inputs: str,
        skipped: dict[str, int],
        actor: Actor,
    ) -> int:
        """A new running run (audited as started)."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            cursor = await conn.execute(
                "INSERT INTO replay_runs (incident_id, known_good, suspect, inputs, by_user, "
                "started_us, skipped) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    known_good,
                    suspect,
                    inputs,
                    actor.user,
                    now_us(),
                    json.dumps(skipped),
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            detail = {"run": run_id, "known_good": known_good, "suspect": suspect, "inputs": inputs}
            await append_audit(conn, actor, "replay", "started", detail, incident_id)
        return run_id

    async def get(self, run_id: int) -> ReplayRun | None:
        """One run."""
        row = await self._store.fetchone(f"SELECT {_RUN} FROM replay_runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    async def for_incident(self, incident_id: int) -> list[ReplayRun]:
        """An incident's runs, newest first."""
        rows = await self._store.fetchall(
            f"SELECT {_RUN} FROM replay_runs WHERE incident_id = ? ORDER BY id DESC",
            (incident_id,),
        )
        return [_run(r) for r in rows]

    async def add_answer(self, answer: StoredAnswer) -> None:
        """Keep one answer (a repeat of the same run, input and version replaces it)."""
        async with self._store.write() as conn:
            await conn.execute(
                f"INSERT OR REPLACE INTO replay_answers ({_ANSWER}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(answer.model_dump().values()),
            )

    async def answers(self, run_id: int) -> list[StoredAnswer]:
        """A run's answers in the order they came."""
        rows = await self._store.fetchall(
            f"SELECT {_ANSWER} FROM replay_answers WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [_answer(r) for r in rows]

    async def set_status(
        self, run_id: int, status: str, skipped: dict[str, int], actor: Actor, answered: int
    ) -> None:
        """Mark a run running again (resumed) or cancelled; audited either way."""
        async with self._store.write() as conn:
            incident_id = await _incident_of(conn, run_id)
            await conn.execute(
                "UPDATE replay_runs SET status = ?, skipped = ? WHERE id = ?",
                (status, json.dumps(skipped), run_id),
            )
            outcome: Outcome = "interrupted" if status == "cancelled" else "started"
            detail = {"run": run_id, "status": status, "answered": answered}
            await append_audit(conn, actor, "replay", outcome, detail, incident_id)

    async def finish(
        self, run_id: int, verdict: str, counts: dict[str, int], actor: Actor, note: str
    ) -> None:
        """The run's verdict and counts, on the incident's timeline and in the audit chain."""
        async with self._store.write() as conn:
            incident_id = await _incident_of(conn, run_id)
            await conn.execute(
                "UPDATE replay_runs SET status = 'finished', finished_us = ?, verdict = ?, "
                "counts = ? WHERE id = ?",
                (now_us(), verdict, json.dumps(counts), run_id),
            )
            audited = {"run": run_id, "verdict": verdict, "counts": counts}
            await add_timeline_entry(conn, incident_id, actor, "replay", note, audited)

    async def mark(
        self,
        run_id: int,
        request_id: str,
        expected: str,
        verdict: str,
        counts: dict[str, int],
        actor: Actor,
        note: str,
    ) -> None:
        """A commander's expected outcome for one input and the run's verdict recomputed,
        on the timeline and audited."""
        async with self._store.write() as conn:
            incident_id = await _incident_of(conn, run_id)
            await conn.execute(
                "UPDATE replay_answers SET expected = ?, expected_source = 'commander' "
                "WHERE run_id = ? AND request_id = ?",
                (expected, run_id, request_id),
            )
            await conn.execute(
                "UPDATE replay_runs SET verdict = ?, counts = ? WHERE id = ?",
                (verdict, json.dumps(counts), run_id),
            )
            audited = {"run": run_id, "request_id": request_id, "verdict": verdict}
            await add_timeline_entry(conn, incident_id, actor, "replay", note, audited)


async def _incident_of(conn: Any, run_id: int) -> int:
    async with conn.execute("SELECT incident_id FROM replay_runs WHERE id = ?", (run_id,)) as c:
        row = await c.fetchone()
    if row is None:
        raise TriageRefusedError(f"there is no replay run #{run_id}")
    return int(row[0])
