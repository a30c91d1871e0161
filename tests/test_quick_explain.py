"""`explain` read quickly (`services.quick_explain`): without pydantic where it can be
(`services.plain_explain`), else by `ExplainService` on the inline reads; either way the
services' explanation, byte for byte in text, JSON and Markdown, over every decision of the
demo's estate; and the services' own path wherever the store or the decision needs it (the
config file not yet validated, a migration to run, a decision not yet ingested).
tests/bench/startup.py measures how long it takes."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.test_explain import SECRET, decision, inquiry, services_over
from thirdbook.demo.estate import STALE_POLICY_AT
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain import plain_explanation
from thirdbook.domain.alerts import Firing
from thirdbook.domain.explain_render import as_json, as_markdown, as_text
from thirdbook.domain.explanation import Explanation
from thirdbook.domain.keys import lookup_key
from thirdbook.domain.marks import FROM_LOG
from thirdbook.domain.records import EventFilter
from thirdbook.services.explain_log import explain_with_log
from thirdbook.services.factory import Context, build_services, open_services
from thirdbook.services.quick_explain import quick_explain
from thirdbook.store import Store
from thirdbook.store.schema import MIGRATIONS, SCHEMA_VERSION

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
HEAVY = (
    "pydantic",
    "asyncio",
    "aiosqlite",
    "thirdbook.config",
    "thirdbook.services.factory",
    "thirdbook.services.explain",
    "thirdbook.domain.events",
)
"""What explaining a decision quickly imports none of."""


@dataclass
class Estate:
    """The demo's estate played and ingested, investigated a little (an incident declared
    from the regulator's inquiry and snapshotted), its config file validated once."""

    data: Path
    config: Path
    decisions: list[tuple[str, str | None]]
    """(request id, subject) of every decision."""
    inquiry_id: str


def _play(root: Path, *, otlp: bool, seconds: float) -> Estate:
    config = root / "thirdbook.toml"
    config.write_text("[ingest]\ndebounce_ms = 20\npoll_interval_s = 0.05\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        return _played(root, config, otlp=otlp, seconds=seconds)


def _played(root: Path, config: Path, *, otlp: bool, seconds: float) -> Estate:

    async def go() -> Estate:
        context = Context.load(root / "data", config, demo=True)  # remembered: read quickly
        layer = DemoServingLayer(context.demo_dir, start=START, otlp=otlp, requests_per_second=2)
        layer.reset()
        at = 0.0
        while at < seconds:
            at = min(at + 2.0, seconds)
            layer.advance_to(at)
        layer.close()
        services = await open_services(context, ingest=True, sources=layer.sources())
        try:
            assert services.ingest is not None
            await services.ingest.run(asyncio.Event(), once=True)
            alerts = (await services.queries.alerts(limit=1000)).items
            asked = next(a for a in alerts if a.kind == "unexplainable")
            incident = await services.triage.declare(
                [asked.id], title="the regulator's decision", severity="SEV2", blast_radius="medium"
            )
            await services.containment.snapshot(incident.id)  # keeps the registry, too
            page = await services.queries.events(EventFilter(kind="inference"), limit=5000)
            [inquired] = (await services.queries.events(EventFilter(kind="inquiry"))).items
        finally:
            await services.close()
        found = [(e.request_id or "", e.subject) for e in page.items]
        return Estate(root / "data", config, found, json.loads(inquired.raw)["inquiry_id"])

    return asyncio.run(go())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    """The demo's whole script, as thirdbook JSON lines."""
    return _play(tmp_path_factory.mktemp("demo"), otlp=False, seconds=STALE_POLICY_AT + 40)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    """The demo's script as OpenTelemetry spans: every decision has a trace to join."""
    return _play(tmp_path_factory.mktemp("otlp"), otlp=True, seconds=STALE_POLICY_AT + 40)


@pytest.fixture(autouse=True)
def own_cache(demo: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings the estate's config file left in the cache (its first load)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(demo.data.parent / "cache"))


def _rendered(found: Any) -> tuple[str, str, str]:
    return as_text(found), as_json(found), as_markdown(found)


def _through_services(estate: Estate, queries: list[dict[str, str | None]]) -> list[Explanation]:
    """What `explain` printed before it read quickly: the services over the store (read
    inline), then the bytes not yet ingested."""

    async def go() -> list[Explanation]:
        context = Context.load(estate.data, estate.config, demo=True)
        services = await open_services(context, access="auto", inline=True)
        try:
            return [
                await explain_with_log(services.explain, services.unread, **asked)
                for asked in queries
            ]
        finally:
            await services.close()

    return asyncio.run(go())


def _quickly(estate: Estate, asked: dict[str, str | None]) -> Any:
    return quick_explain(estate.data, estate.config, demo=True, **asked)


def test_every_decision_of_the_demo_is_explained_quickly_as_the_services_explain_it(
    demo: Estate,
) -> None:
    queries: list[dict[str, str | None]] = [{"request_id": r} for r, _ in demo.decisions]
    subjects = sorted({s for _, s in demo.decisions if s})
    queries += [{"subject": s} for s in subjects[::7]]
    plainly = 0
    for asked, services in zip(queries, _through_services(demo, queries), strict=True):
        quick = _quickly(demo, asked)
        assert quick is not None, asked
        assert _rendered(quick) == _rendered(services), asked
        plainly += isinstance(quick, plain_explanation.Explanation)
    # Without pydantic, every one of them: the demo's lines carry no trace to join.
    assert plainly == len(queries) > 450
    # ... and what they explain: the registry's copies and its file, the snapshot, an
    # incident's citation, the feedback and agent actions naming them.
    shown = "\n".join(as_text(_quickly(demo, q)) for q in queries)
    for said in ("in force then)", "as it is now", "snapshot #1", "incident #1", "feedback "):
        assert said in shown


def test_an_inquiry_and_a_joined_trace_are_the_models_still_read_inline(
    demo: Estate, traced: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    [services] = _through_services(demo, [{"inquiry_id": demo.inquiry_id}])
    quick = _quickly(demo, {"inquiry_id": demo.inquiry_id})
    assert isinstance(quick, Explanation) and quick.inquiry is not None
    assert _rendered(quick) == _rendered(services)
    monkeypatch.setenv("XDG_CACHE_HOME", str(traced.data.parent / "cache"))
    queries: list[dict[str, str | None]] = [{"request_id": r} for r, _ in traced.decisions[::9]]
    for asked, services in zip(queries, _through_services(traced, queries), strict=True):
        quick = _quickly(traced, asked)
        assert isinstance(quick, Explanation) and quick.trace is not None, asked
        assert _rendered(quick) == _rendered(services), asked


def _run(estate: Estate, *args: str) -> tuple[str, list[str]]:
    """`thirdbook explain ARGS --demo` in a fresh Python: what it printed, and which of the
    heavy modules it imported."""
    probe = (
        "import json, sys\n"
        "from thirdbook.cli import main\n"
        "try:\n"
        f"    main({['explain', *args, '--demo']!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(estate.data.parent / "cache"),
        "THIRDBOOK_DATA_DIR": str(estate.data),
        "THIRDBOOK_CONFIG": str(estate.config),
        "COLUMNS": "200",
    }
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout, json.loads(ran.stderr.strip().splitlines()[-1])


def _printed(found: Any, shown: list[str]) -> str:
    """What `explain` prints of `found` with these options."""
    if shown == ["--json"]:
        return as_json(found) + "\n"
    if shown == ["--markdown"]:
        return as_markdown(found)
    return as_text(found) + "\n"


@pytest.mark.parametrize("shown", [[], ["--json"], ["--markdown"]])
def test_explain_imports_no_model_and_prints_what_the_services_print(
    demo: Estate, shown: list[str]
) -> None:
    request_id, subject = demo.decisions[len(demo.decisions) // 2]
    assert subject is not None
    by_id, by_subject = _through_services(demo, [{"request_id": request_id}, {"subject": subject}])
    assert _run(demo, request_id, *shown) == (_printed(by_id, shown), [])
    assert _run(demo, "--subject", subject, *shown) == (_printed(by_subject, shown), [])
    [asked] = _through_services(demo, [{"inquiry_id": demo.inquiry_id}])
    printed, imported = _run(demo, "--inquiry", demo.inquiry_id, *shown)
    assert printed == _printed(asked, shown)  # by the models, inline: no event loop
    assert imported == ["pydantic", "thirdbook.services.explain", "thirdbook.domain.events"]


def test_a_config_file_not_yet_validated_is_loaded_in_full_first(
    demo: Estate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = demo.decisions[0][0]
    assert _quickly(demo, {"request_id": request_id}) is not None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))  # nothing remembered
    assert _quickly(demo, {"request_id": request_id}) is None
    Context.load(demo.data, demo.config, demo=True)  # what the services' path does first
    assert _quickly(demo, {"request_id": request_id}) is not None


async def _store_of(tmp_path: Path, *records: dict[str, Any]) -> Path:
    """A store holding `records` (ingested), the registry observed; its config file names
    the registry. Returns the config file."""
    services = await services_over(tmp_path, *records)
    await services.close()
    config = tmp_path / "thirdbook.toml"
    config.write_text(f'[containment]\nregistry = "{tmp_path / "registry.json"}"\n')
    return config


def _services(tmp_path: Path, config: Path, asked: dict[str, str | None]) -> Explanation:
    """The services' explanation (their path: the config file loaded in full, and
    remembered for a quick read; the store opened as asked, migrated if need be)."""

    async def go() -> Explanation:
        context = Context.load(tmp_path / "data", config)
        services = await open_services(context, access="auto")
        try:
            return await explain_with_log(services.explain, services.unread, **asked)
        finally:
            await services.close()

    return asyncio.run(go())


def _both(tmp_path: Path, config: Path, asked: dict[str, str | None]) -> tuple[Any, Any]:
    """The services' explanation, and the one read quickly after it."""
    services = _services(tmp_path, config, asked)
    return quick_explain(tmp_path / "data", config, demo=False, **asked), services


def test_the_config_file_is_honoured_registry_secrets_containment_and_citations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    later = "2099-01-01T00:00:00+00:00"  # after the containment below was written
    config = asyncio.run(
        _store_of(
            tmp_path,
            decision("req-1", ts=later),
            decision("req-2", ts=later, model={"name": "credit-scorer", "version": "v7"}),
            decision("req-3", ts=later, prompt=None, action=None),
            decision("req-4", ts=later, model={**decision()["model"], "weights_hash": "sha256:7"}),
            {**inquiry("inq-1", "req-1"), "ts": later},
            {
                "v": 1,
                "kind": "feedback",
                "ts": later,
                "target": "credit-scorer",
                "category": "wrong decline",
                "request_id": "req-1",
                "reporter": "ana",
            },
            {  # naming only the subject
                "v": 1,
                "kind": "agent_action",
                "ts": later,
                "agent": "collections",
                "tool": "send_letter",
                "subject": "applicant-7",
                "outcome": "sent",
            },
        )
    )

    async def contain() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        alert = await store.alerts.record(
            Firing(
                rule="r",
                kind="feedback",
                key="req-1",
                event_ids=(1,),
                at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
                summary="feedback on req-1",
            )
        )
        incident = await build_services(store).triage.declare(
            [alert.id], title="wrong declines", severity="SEV2", blast_radius="medium"
        )
        await store.containment.written(incident.id, "kill switch", "credit-scorer", "route", "h")
        await store.close()

    asyncio.run(contain())
    for request_id in ("req-1", "req-2", "req-3", "req-4"):
        quick, services = _both(tmp_path, config, {"request_id": request_id})
        assert isinstance(quick, plain_explanation.Explanation), request_id
        assert _rendered(quick) == _rendered(services), request_id
    text = as_text(_both(tmp_path, config, {"request_id": "req-1"})[0])
    assert "registry check: matches (registry file as it is now" in text
    assert "containment in force: kill switch route=h" in text
    assert "cited by: incident #1: SEV2 detected: wrong declines" in text
    assert "related: feedback #6" in text and "related: inquiry #5" in text
    assert "related: agent_action #7: 2099-01-01T00:00:00+00:00 collections send_letter" in text
    assert SECRET not in text and "Applicant 7 asks for 5000." in text
    mismatch = as_text(_both(tmp_path, config, {"request_id": "req-4"})[0])
    assert "registry check: !!! WEIGHTS MISMATCH: MISMATCH logged sha256:7 but" in mismatch


def test_a_decision_not_yet_ingested_is_explained_from_the_log_by_the_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = asyncio.run(_store_of(tmp_path, decision("req-1")))
    log = tmp_path / "app.jsonl"
    with log.open("a") as more:  # written after ingest read the file
        more.write(json.dumps(decision("req-2")) + "\n")
    quick, services = _both(tmp_path, config, {"request_id": "req-2"})
    assert quick is None
    assert services.provisional and FROM_LOG in as_text(services)


def test_a_store_with_a_migration_to_run_is_explained_by_the_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store of schema 1 (nothing run since): read quickly only once the services have
    migrated it; the same explanation before and after."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    db = data / "thirdbook.db"
    raw = json.dumps(decision("req-old")).encode()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO files (id, source, path, dev, ino, head_len, head_hash, first_seen_us, "
        "updated_us) VALUES (1, 'app', '/var/log/app.jsonl', 1, 1, 0, '', 0, 0)"
    )
    conn.execute(
        "INSERT INTO events (ts_us, kind, request_id, request_key, subject, subject_key, "
        "model_name, model_version, weights_hash, route, file_id, byte_offset, ingested_us, "
        "raw) VALUES (1795788120000000, 'inference', 'req-old', ?, 'applicant-7', ?, "
        "'credit-scorer', 'v7', 'sha256:77', 'model', 1, 0, 0, ?)",
        (lookup_key("req-old"), lookup_key("applicant-7"), raw),
    )
    conn.close()
    config = tmp_path / "thirdbook.toml"
    config.write_text("")
    Context.load(data, config)  # the config file validated: only the store stands in the way
    assert quick_explain(data, config, demo=False, request_id="req-old") is None
    services = _services(tmp_path, config, {"request_id": "req-old"})  # ... which migrates it
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    quick = quick_explain(data, config, demo=False, request_id="req-old")
    assert isinstance(quick, plain_explanation.Explanation)
    assert _rendered(quick) == _rendered(services)
