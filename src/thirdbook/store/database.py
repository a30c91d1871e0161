"""The store: its connection (`store/connection.py`) with every table's queries composed on it.

`Store` is what the rest of thirdbook holds: `store.events`, `store.incidents`, `store.audit`
and the other tables, each a class over the connection's reads and write transactions, and
the database-wide upkeep (the events table's indexes, checkpoints, integrity). The table
modules depend on the connection alone; only this module knows them all.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from thirdbook.store.connection import StoreConnection
from thirdbook.store.schema import EVENT_INDEXES, create_index_sql

if TYPE_CHECKING:
    from thirdbook.store.action_items import ActionItems
    from thirdbook.store.alerts import Alerts
    from thirdbook.store.audit import Audit
    from thirdbook.store.baselines import Baselines
    from thirdbook.store.containment import Containment
    from thirdbook.store.events import EventQueries
    from thirdbook.store.explain import ExplainQueries
    from thirdbook.store.incidents import Incidents
    from thirdbook.store.ingest_state import IngestState
    from thirdbook.store.leases import Leases
    from thirdbook.store.quarantine import Quarantine
    from thirdbook.store.recovery import Recovery
    from thirdbook.store.registry_history import RegistryHistory
    from thirdbook.store.replay_runs import ReplayRuns
    from thirdbook.store.report_queries import ReportQueries
    from thirdbook.store.reviews import Reviews
    from thirdbook.store.roles import Roles
    from thirdbook.store.snapshots import Snapshots
    from thirdbook.store.traces import Traces

__all__ = ["Store"]


class Store(StoreConnection):
    """An open store. Use `await Store.open(path)`; close with `await store.close()`. Each
    table's class (and its models) is imported when the table is first used: a command
    pays for the tables it reads, not for all of them."""

    @cached_property
    def events(self) -> EventQueries:
        """Events and rejects, newest first."""
        from thirdbook.store.events import EventQueries

        return EventQueries(self)

    @cached_property
    def ingest(self) -> IngestState:
        """Tracked files, checkpoints and the ingest bookkeeping."""
        from thirdbook.store.ingest_state import IngestState

        return IngestState(self)

    @cached_property
    def leases(self) -> Leases:
        """The ingest lease."""
        from thirdbook.store.leases import Leases

        return Leases(self)

    @cached_property
    def alerts(self) -> Alerts:
        """The triggers' alerts."""
        from thirdbook.store.alerts import Alerts

        return Alerts(self)

    @cached_property
    def incidents(self) -> Incidents:
        """Incidents and their timelines."""
        from thirdbook.store.incidents import Incidents

        return Incidents(self)

    @cached_property
    def action_items(self) -> ActionItems:
        """Action items."""
        from thirdbook.store.action_items import ActionItems

        return ActionItems(self)

    @cached_property
    def audit(self) -> Audit:
        """The audit chain."""
        from thirdbook.store.audit import Audit

        return Audit(self)

    @cached_property
    def snapshots(self) -> Snapshots:
        """Evidence snapshots."""
        from thirdbook.store.snapshots import Snapshots

        return Snapshots(self)

    @cached_property
    def quarantine(self) -> Quarantine:
        """Quarantined training data and fine-tunes."""
        from thirdbook.store.quarantine import Quarantine

        return Quarantine(self)

    @cached_property
    def containment(self) -> Containment:
        """Containment actions written."""
        from thirdbook.store.containment import Containment

        return Containment(self)

    @cached_property
    def registry_history(self) -> RegistryHistory:
        """The registry's alias moves."""
        from thirdbook.store.registry_history import RegistryHistory

        return RegistryHistory(self)

    @cached_property
    def baselines(self) -> Baselines:
        """Known-good baselines."""
        from thirdbook.store.baselines import Baselines

        return Baselines(self)

    @cached_property
    def explain(self) -> ExplainQueries:
        """What explain reads beyond events."""
        from thirdbook.store.explain import ExplainQueries

        return ExplainQueries(self)

    @cached_property
    def replay_runs(self) -> ReplayRuns:
        """Replay runs and their answers."""
        from thirdbook.store.replay_runs import ReplayRuns

        return ReplayRuns(self)

    @cached_property
    def recovery(self) -> Recovery:
        """Recovery decisions and band overrides."""
        from thirdbook.store.recovery import Recovery

        return Recovery(self)

    @cached_property
    def report(self) -> ReportQueries:
        """The report's queries."""
        from thirdbook.store.report_queries import ReportQueries

        return ReportQueries(self)

    @cached_property
    def reviews(self) -> Reviews:
        """Blameless reviews."""
        from thirdbook.store.reviews import Reviews

        return Reviews(self)

    @cached_property
    def roles(self) -> Roles:
        """Incident roles."""
        from thirdbook.store.roles import Roles

        return Roles(self)

    @cached_property
    def traces(self) -> Traces:
        """Decisions joined with their OpenTelemetry traces."""
        from thirdbook.store.traces import Traces

        return Traces(self)

    async def missing_event_indexes(self) -> list[str]:
        """Secondary indexes of the events table that do not exist now."""
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
        )
        present = {row[0] for row in rows}
        return [name for name in EVENT_INDEXES if name not in present]

    async def drop_event_indexes(self) -> None:
        """Drop the events table's secondary indexes (before a bulk load)."""
        async with self.write() as conn:
            for name in EVENT_INDEXES:
                await conn.execute(f"DROP INDEX IF EXISTS {name}")

    async def build_event_indexes(self) -> list[str]:
        """Build whichever secondary indexes are missing; returns their names."""
        missing = await self.missing_event_indexes()
        for name in missing:
            async with self.write() as conn:
                await conn.execute(create_index_sql(name))
        return missing

    async def size_bytes(self) -> int:
        """The database file's size in pages times the page size."""
        row = await self.fetchone(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
        )
        return int(row[0]) if row else 0

    async def set_autocheckpoint(self, pages: int) -> None:
        """SQLite's automatic WAL checkpoint on this connection (0: off)."""
        await self.conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")

    async def integrity_check(self) -> str:
        """`PRAGMA integrity_check`: "ok" or the problems found."""
        rows = await self.fetchall("PRAGMA integrity_check")
        return "\n".join(str(r[0]) for r in rows)

    async def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Checkpoint the WAL; returns (busy, log pages, checkpointed pages)."""
        if mode not in {"PASSIVE", "FULL", "RESTART", "TRUNCATE"}:
            raise ValueError(mode)
        row = await self.fetchone(f"PRAGMA wal_checkpoint({mode})")
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])
