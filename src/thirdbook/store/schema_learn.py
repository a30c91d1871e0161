"""Migrations 14 onward: investigate, recover and learn (baselines, replay, recovery,
runbook checks by action, roles). `schema.MIGRATIONS` appends these after its own, in order.

A migration is never edited once released: a change to the schema is a new entry here.
"""

from __future__ import annotations

LEARN_MIGRATIONS: tuple[str, ...] = (
    # 14: baselines of known-good (forensics): a model version's chain over a window, kept as
    # a content-addressed evidence object; this row indexes it.
    """
    CREATE TABLE baselines (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        taken_us INTEGER NOT NULL,
        since_us INTEGER NOT NULL,
        until_us INTEGER NOT NULL,
        by_user TEXT NOT NULL,
        why TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL
    );
    CREATE INDEX baselines_by_model ON baselines(model, version, taken_us)
    """,
    # 15: replay runs of an incident's decisions against a known-good and a suspect version,
    # and each version's answer to each input (request and answer kept as evidence objects,
    # by hash; no credentials anywhere).
    """
    CREATE TABLE replay_runs (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        known_good TEXT NOT NULL,
        suspect TEXT NOT NULL,
        inputs TEXT NOT NULL,
        by_user TEXT NOT NULL,
        started_us INTEGER NOT NULL,
        finished_us INTEGER,
        status TEXT NOT NULL DEFAULT 'running',
        verdict TEXT,
        counts TEXT,
        skipped TEXT
    );
    CREATE INDEX replay_runs_by_incident ON replay_runs(incident_id);
    CREATE TABLE replay_answers (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES replay_runs(id),
        request_id TEXT NOT NULL,
        version TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,
        answer_sha256 TEXT,
        decision TEXT,
        error TEXT,
        expected TEXT,
        expected_source TEXT,
        UNIQUE (run_id, request_id, version)
    )
    """,
    # 16: recovery decisions (restore with conditions, retrain, retire), the band overrides a
    # restore gives the trigger engine (with their expiry), and quarantine audit sign-offs.
    """
    CREATE TABLE recovery_decisions (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        kind TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        by_user TEXT NOT NULL,
        summary TEXT NOT NULL,
        detail TEXT NOT NULL,
        override TEXT
    );
    CREATE INDEX recovery_decisions_by_incident ON recovery_decisions(incident_id);
    CREATE TABLE band_overrides (
        id INTEGER PRIMARY KEY,
        decision_id INTEGER NOT NULL REFERENCES recovery_decisions(id),
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        rule TEXT NOT NULL,
        low REAL,
        high REAL,
        since_us INTEGER NOT NULL,
        until_us INTEGER NOT NULL
    );
    CREATE TABLE quarantine_signoffs (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        by_user TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        reason TEXT NOT NULL
    )
    """,
    # 17: a runbook step checked by the action that performed it, and an incident's roles beside
    # its commander (scribe, communications), each with who gave it and when.
    """
    ALTER TABLE runbook_checks ADD COLUMN by_action TEXT;
    CREATE TABLE incident_roles (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        role TEXT NOT NULL,
        user TEXT NOT NULL,
        by_user TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        PRIMARY KEY (incident_id, role)
    )
    """,
    # 18: the blameless review: its findings (with the nudge each got), its completion (or
    # why no runbook edit was needed), the runbook as it was when the incident was declared,
    # and an action item's kind (detect, prevent, correct) and the finding it answers.
    """
    CREATE TABLE review_findings (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        by_user TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        nudge TEXT
    );
    CREATE INDEX review_findings_by_incident ON review_findings(incident_id);
    CREATE TABLE review_completions (
        incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
        by_user TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        no_edit_reason TEXT
    );
    CREATE TABLE runbook_copies (
        incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        text TEXT NOT NULL,
        at_us INTEGER NOT NULL
    );
    ALTER TABLE action_items ADD COLUMN kind TEXT;
    ALTER TABLE action_items ADD COLUMN finding_id INTEGER REFERENCES review_findings(id)
    """,
)
