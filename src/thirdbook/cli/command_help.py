"""What `thirdbook --help` says of each command, so that listing them imports none of their
modules (`LazyGroup` makes the same one-line help from these as click would from the command
itself; tests/test_cli_startup.py checks they agree). A command missing here is still listed,
by importing its module."""

from __future__ import annotations

SHORT_HELP: dict[str, str] = {
    "action-items": "List action items by due date (overdue ones marked), or add and close them.",
    "alerts": "List alerts the triggers raised, newest first.",
    "answer": (
        "Answer an inquiry: keep its decision's explanation as evidence, on the incident's "
        "timeline and in the audit chain, with who answered and how long after it arrived."
    ),
    "attach": "Attach an open alert to an incident.",
    "audit": (
        "The audit records, oldest first: every action, done, refused, failed or interrupted,"
        " with who."
    ),
    "baseline": (
        "Keep what known-good looks like for MODEL VERSION: its templates, retrieved "
        "documents, tool output shapes, weights hash, flag file, registry alias and decision "
        "mix."
    ),
    "calibration": (
        "Each rule: fired, declared, dismissed (with their reasons), near misses, median time"
        " to triage, and whether to tighten, loosen or keep it (start strict, loosen with "
        "evidence)."
    ),
    "checkpoint": "Print the audit chain's head (sequence number and hash) to keep somewhere else.",
    "config": "Show or check the configuration.",
    "console": (
        "Open the console on the configured store and sources (with --read-only, on a store "
        "that exists)."
    ),
    "decide": "Decide how INCIDENT recovers: restore (with conditions), retrain, or retire.",
    "decisions": "An incident's recovery decisions and their state (written, observed, expiry).",
    "declare": "Declare an incident from open ALERT_IDS.",
    "demo": "Play the built-in demo estate: a simulated serving layer, its logs, and the console.",
    "dismiss": "Dismiss an open alert, with the reason.",
    "events": "List stored events, newest first (secrets masked unless --reveal-secrets).",
    "explain": (
        "Explain one decision: model version (and the registry's weights hash), the full "
        "prompt, the response and the downstream action, each present or MISSING; the route "
        "and why; what names or cites it; the snapshots that hold it."
    ),
    "export": (
        "Write INCIDENT's evidence bundle (tar.gz): manifests, objects, its audit chain "
        "slice, the timeline, and a README on verifying it."
    ),
    "finding": "Record a finding of the review.",
    "forensics": (
        "Diff every link of INCIDENT's chain against the model's last known-good baseline."
    ),
    "handover": (
        "Hand an incident's role (the commander's, by default) over to USER; the handover "
        "goes on the timeline with who did it and when."
    ),
    "incidents": "List incidents, newest first.",
    "ingest": "Ingest PATHS (files or globs): follow them, or with --once read them and exit.",
    "kill-switch": (
        "Flip the kill switch: the flagd flag stays ENABLED and routes away from the model."
    ),
    "near-misses": (
        "Dismissed alerts whose rule and key fired again and were declared, and alerts "
        "attached late, each with who triaged it, the dismissal's reason and the incident."
    ),
    "note": "Put a free-text note on an incident's timeline (who and when are recorded).",
    "phase": "Move an incident to another phase (closed is final).",
    "precision": "Each rule's precision (declared / triaged; open alerts are not misses).",
    "quarantine": "Quarantine training data and fine-tunes so a retrain refuses them.",
    "registry": "The model registry as thirdbook has seen it.",
    "rejects": "List rejected lines, newest first, with their source, offset and reason.",
    "replay": (
        "Replay INCIDENT's decisions, as logged, against the known-good and suspect versions:"
        " each input's decisions, expected outcome and verdict, then the run's verdict "
        "(regression in the model change, upstream, not reproduced or inconclusive)."
    ),
    "replay-mark": (
        "Mark the suspect's answer to REQUEST_ID in replay RUN right or wrong (the expected "
        "outcome where no feedback or check says it); the run's verdict is recomputed."
    ),
    "report": (
        "Write INCIDENT's post-incident report as Markdown, built from the store: summary, "
        "impact, timeline, detection, containment, evidence, replay and forensics, recovery, "
        "findings, action items, runbook changes, and the regulatory section (NIST AI 600-1, "
        "AIID/CSET, EU AI Act Article 73)."
    ),
    "review": (
        "An incident's blameless review: its measured times, phases, findings, action items "
        "and runbook diff; --complete completes it (at least one finding, and a runbook edit "
        "or --no-edit-reason)."
    ),
    "roles": (
        "Who holds each of an incident's roles, who gave it and when (the declarer is "
        "commander until a handover)."
    ),
    "rollback": (
        "Point the model's serving alias at a known-good version (the failing one is kept)."
    ),
    "rules": "The drift rules with their bands, and the band overrides restores gave them.",
    "runbook": "Show an incident's runbook with its numbered steps; check or uncheck one; edit it.",
    "runbooks": "List the runbooks (yours over the shipped ones) and any file that cannot be used.",
    "schema": "Print the JSON Schema of the thirdbook event format (v1).",
    "serve": (
        "Serve the console to web browsers: each browser tab gets its own console on the "
        "configured store (read-only unless --allow-actions)."
    ),
    "serious": (
        "Mark INCIDENT a serious incident: the EU AI Act Article 73 reporting clock starts "
        "from when the organisation became aware, and shows in every console's banner."
    ),
    "severity": "Change an incident's severity.",
    "snapshot": (
        "Snapshot an incident's window of interest as evidence (do this before containment)."
    ),
    "status": "Ingest health: events, rejects, files, the lease holder, gaps and truncations.",
    "timeline": "An incident's timeline, oldest first: every change, with who and when.",
    "verify": (
        "Re-check the audit chain, every evidence object, the snapshot index against the "
        "chain, and every event's raw bytes against the batch chain; exit 1 naming the first "
        "bad one."
    ),
    "verify-bundle": (
        "Verify an evidence bundle offline: every file against MANIFEST.json, every object "
        "against its name, the snapshot manifests, and the audit chain slice."
    ),
    "watch": "Ingest the configured sources without the UI, until interrupted (a bastion service).",
}
"""Command -> the first sentence of its help (what click shows when the width allows)."""
