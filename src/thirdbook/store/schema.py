"""Numbered migrations. `PRAGMA user_version` says how many have been applied.

A migration is never edited once released: a change to the schema is a new entry.
"""

from __future__ import annotations

from thirdbook.store.schema_learn import LEARN_MIGRATIONS

EVENT_INDEXES: dict[str, str] = {
    "events_by_time": "ON events(ts_us)",
    # Request ids and subjects are random keys: their indexes hold a 64-bit hash of the text
    # (queries check the text too), far cheaper to maintain row by row. There is no index on
    # (file_id, byte_offset): the checkpoint's compare-and-swap makes a repeat impossible.
    "events_by_request": "ON events(request_key) WHERE request_key IS NOT NULL",
    "events_by_subject": "ON events(subject_key) WHERE subject_key IS NOT NULL",
    "events_by_model": "ON events(model_name, model_version, ts_us) WHERE model_name IS NOT NULL",
}
"""The events table's secondary indexes. A bulk load drops them and builds them again after
(sorting once is far cheaper than a million random inserts); opening the store for ingest
builds any that a crash in the middle of a bulk load left missing."""


def create_index_sql(name: str) -> str:
    """The statement that builds one of the events indexes (if it is missing)."""
    return f"CREATE INDEX IF NOT EXISTS {name} {EVENT_INDEXES[name]}"


_CORE_MIGRATIONS: tuple[str, ...] = (
    # 1: files with checkpoints, events, rejects, ingest notes, the ingest lease.
    """
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        path TEXT NOT NULL,
        dev INTEGER NOT NULL,
        ino INTEGER NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0,
        head_len INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        offset INTEGER NOT NULL DEFAULT 0,
        tail_hash TEXT NOT NULL DEFAULT '',
        size_seen INTEGER NOT NULL DEFAULT 0,
        lines INTEGER NOT NULL DEFAULT 0,
        rejects INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'active'
            CHECK (state IN ('active', 'released', 'truncated', 'gone')),
        first_seen_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    CREATE INDEX files_by_inode ON files(dev, ino) WHERE state = 'active';

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts_us INTEGER NOT NULL,
        kind TEXT NOT NULL,
        request_id TEXT,
        request_key INTEGER,
        subject TEXT,
        subject_key INTEGER,
        model_name TEXT,
        model_version TEXT,
        weights_hash TEXT,
        route TEXT,
        file_id INTEGER NOT NULL,
        byte_offset INTEGER NOT NULL,
        ingested_us INTEGER NOT NULL,
        raw BLOB NOT NULL
    );
    {event_indexes};

    CREATE TABLE rejects (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL,
        byte_offset INTEGER NOT NULL,
        length INTEGER NOT NULL,
        reason TEXT NOT NULL,
        raw BLOB NOT NULL,
        raw_complete INTEGER NOT NULL,
        ingested_us INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX rejects_by_position ON rejects(file_id, byte_offset);

    CREATE TABLE ingest_notes (
        id INTEGER PRIMARY KEY,
        ts_us INTEGER NOT NULL,
        file_id INTEGER,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );

    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        user TEXT NOT NULL,
        acquired_us INTEGER NOT NULL,
        heartbeat_us INTEGER NOT NULL
    );

    CREATE TABLE ingest_progress (
        name TEXT PRIMARY KEY,
        events_total INTEGER NOT NULL,
        rejects_total INTEGER NOT NULL,
        backlog_bytes INTEGER NOT NULL,
        last_event_ts_us INTEGER,
        caught_up_us INTEGER,
        updated_us INTEGER NOT NULL,
        paused_reason TEXT
    );
    """.replace("{event_indexes}", ";\n    ".join(create_index_sql(n) for n in EVENT_INDEXES)),
    # 2: alerts. While an alert is open, the same rule and key update it instead of adding one.
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'dismissed', 'attached', 'declared')),
        summary TEXT NOT NULL,
        fired INTEGER NOT NULL DEFAULT 1,
        event_ids TEXT NOT NULL,
        first_at_us INTEGER NOT NULL,
        last_at_us INTEGER NOT NULL,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX alerts_open_once ON alerts(rule, key) WHERE status = 'open';
    CREATE INDEX alerts_by_status ON alerts(status, id)
    """,
    # 3: triage and incidents, with the timeline of who did what.
    """
    ALTER TABLE alerts ADD COLUMN incident_id INTEGER;
    ALTER TABLE alerts ADD COLUMN triage_reason TEXT;
    ALTER TABLE alerts ADD COLUMN triaged_by TEXT;
    ALTER TABLE alerts ADD COLUMN triaged_us INTEGER;
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('SEV1', 'SEV2', 'SEV3', 'SEV4')),
        blast_radius TEXT NOT NULL CHECK (blast_radius IN ('high', 'medium')),
        phase TEXT NOT NULL DEFAULT 'detected',
        commander TEXT NOT NULL,
        declared_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    CREATE TABLE timeline (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at_us INTEGER NOT NULL,
        user TEXT NOT NULL,
        uid INTEGER NOT NULL,
        origin TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX timeline_by_incident ON timeline(incident_id, id)
    """,
    # 4: action items, each with exactly one owner and a due date.
    """
    CREATE TABLE action_items (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        title TEXT NOT NULL,
        owner TEXT NOT NULL,
        due TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
        resolution TEXT,
        created_us INTEGER NOT NULL,
        closed_us INTEGER
    );
    CREATE INDEX action_items_by_status ON action_items(status, due)
    """,
    # 5: the runbook an incident follows, and which of its steps are checked.
    """
    ALTER TABLE incidents ADD COLUMN runbook TEXT;
    CREATE TABLE runbook_checks (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        step_key TEXT NOT NULL,
        checked INTEGER NOT NULL,
        by_user TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        PRIMARY KEY (incident_id, step_key)
    )
    """,
    # 6: the audit chain. Each record's hash covers its content and the previous hash; a
    # record is appended with the chain head read in the same BEGIN IMMEDIATE transaction.
    """
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at_us INTEGER NOT NULL,
        incident_id INTEGER,
        content TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_incident ON audit(incident_id, seq) WHERE incident_id IS NOT NULL
    """,
    # 7: evidence snapshots. A snapshot is 'incomplete' from its start until its manifest is
    # stored; one that was interrupted stays incomplete and is never shown as complete.
    """
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        status TEXT NOT NULL DEFAULT 'incomplete' CHECK (status IN ('incomplete', 'complete')),
        by_user TEXT NOT NULL,
        started_us INTEGER NOT NULL,
        finished_us INTEGER,
        manifest_sha256 TEXT,
        manifest TEXT
    );
    CREATE INDEX snapshots_by_incident ON snapshots(incident_id, id)
    """,
    # 8: quarantined training data and fine-tunes: paths or ids, with their hashes.
    """
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        target TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('file', 'directory', 'id')),
        sha256 TEXT,
        by_user TEXT NOT NULL,
        added_us INTEGER NOT NULL
    );
    CREATE INDEX quarantine_by_target ON quarantine(target);
    CREATE INDEX quarantine_by_hash ON quarantine(sha256) WHERE sha256 IS NOT NULL
    """,
    # 9: containment actions written to the serving layer's files, and what would show them
    # taking effect in its logs (an inference of `model` whose `field` is `value`).
    """
    CREATE TABLE containment (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        action TEXT NOT NULL,
        model TEXT NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('route', 'model_version')),
        value TEXT NOT NULL,
        written_us INTEGER NOT NULL,
        after_event_id INTEGER NOT NULL
    );
    CREATE INDEX containment_by_incident ON containment(incident_id, id)
    """,
    # 10: every move of a registry alias, as seen in the registry file or made by a rollback,
    # so "which version was serving at 14:02?" has an answer.
    """
    CREATE TABLE alias_moves (
        id INTEGER PRIMARY KEY,
        at_us INTEGER NOT NULL,
        model TEXT NOT NULL,
        alias TEXT NOT NULL,
        from_version TEXT,
        to_version TEXT,
        how TEXT NOT NULL CHECK (how IN ('first seen', 'observed', 'rollback')),
        by_user TEXT,
        incident_id INTEGER REFERENCES incidents(id),
        registry_sha256 TEXT NOT NULL
    );
    CREATE INDEX alias_moves_by_model ON alias_moves(model, alias, at_us)
    """,
    # 11: the event batch chain (domain/batches.py): a record per committed batch of events
    # and rejects (their SHA-256 and each row's locator), chained like the audit records. Its
    # first record stands for the rows already stored, which can be counted but not re-hashed;
    # its link is those counts in words (SQL has no SHA-256), matching `predating_link`.
    """
    CREATE TABLE event_batches (
        id INTEGER PRIMARY KEY,
        file_id INTEGER,
        first_event_id INTEGER,
        last_event_id INTEGER,
        event_count INTEGER NOT NULL,
        first_reject_id INTEGER,
        last_reject_id INTEGER,
        reject_count INTEGER NOT NULL,
        locators BLOB NOT NULL,
        sha256 TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        chain_hash TEXT NOT NULL
    );
    INSERT INTO event_batches (id, file_id, first_event_id, last_event_id, event_count,
        first_reject_id, last_reject_id, reject_count, locators, sha256, prev_hash, chain_hash)
    SELECT 1, NULL, e.first, e.last, e.n, r.first, r.last, r.n, X'', '', '',
        'before the batch chain: events ' || coalesce(e.last, 0) || '/' || e.n ||
        ', rejects ' || coalesce(r.last, 0) || '/' || r.n
    FROM (SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM events) AS e,
         (SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM rejects) AS r
    """,
    # 12: rotations found by identity and fingerprint in any state (a file rotated, copied or
    # compressed away), settled files known by their size and mtime, and gaps with the byte
    # range that was lost.
    """
    ALTER TABLE files ADD COLUMN stat_size INTEGER;
    ALTER TABLE files ADD COLUMN stat_mtime_ns INTEGER;
    ALTER TABLE files ADD COLUMN compressed TEXT;
    ALTER TABLE ingest_notes ADD COLUMN gap_start INTEGER;
    ALTER TABLE ingest_notes ADD COLUMN gap_end INTEGER;
    CREATE INDEX files_by_identity ON files(dev, ino);
    CREATE INDEX files_by_head ON files(head_hash)
    """,
    # 13: one line may carry many events (a batch of spans): an event's position is its line's
    # offset and its index among the line's events (0 for a one-event line). And why the
    # ingester parses in its own process, when its worker processes have failed.
    """
    ALTER TABLE events ADD COLUMN line_index INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE ingest_progress ADD COLUMN parse_fallback TEXT
    """,
)

MIGRATIONS: tuple[str, ...] = _CORE_MIGRATIONS + LEARN_MIGRATIONS
"""Every migration in order; the n-th brings a store to `user_version` n."""

SCHEMA_VERSION = len(MIGRATIONS)
