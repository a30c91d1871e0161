"""The demo's decisions come from the prompt, and its model server answers as they were logged."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from thirdbook.config import Settings
from thirdbook.demo import credit
from thirdbook.demo.estate import STALE_POLICY_AT
from thirdbook.demo.model_server import ModelServer
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.events import Prompt
from thirdbook.domain.replay_payload import chat_messages
from thirdbook.services.demo import DemoSession
from thirdbook.services.factory import Context

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def decisions(tmp_path: Path, seconds: float) -> list[dict[str, Any]]:
    layer = DemoServingLayer(tmp_path / "demo", seed=7, start=START)
    layer.reset()
    layer.advance_to(seconds)
    layer.close()
    lines = (layer.logs / "serving.jsonl").read_bytes().splitlines()
    return [r for r in map(json.loads, lines) if r.get("model") and r.get("prompt")]


def feedback(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "demo" / "logs" / "signals.jsonl").read_bytes().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "feedback"]


def ask(client: httpx.Client, server: ModelServer, version: str, record: dict[str, Any]) -> Any:
    messages = chat_messages(Prompt.model_validate(record["prompt"]))
    reply = client.post(
        f"{server.base_url(version)}/chat/completions",
        json={"model": version, "messages": messages, "temperature": 0, "seed": 7},
    )
    assert reply.status_code == 200
    return json.loads(reply.json()["choices"][0]["message"]["content"])


def test_decisions_are_a_function_of_the_prompt(tmp_path: Path) -> None:
    logged = decisions(tmp_path, 170)
    for record in logged:
        prompt = Prompt.model_validate(record["prompt"])
        again = credit.decide(record["model"]["version"], prompt)
        assert again.decision == record["response"]["decision"]
        assert again == credit.decide(record["model"]["version"], prompt.model_copy())
    v6 = [r for r in logged if r["model"]["version"] == "v6"]
    right = [
        credit.creditworthy(Prompt.model_validate(r["prompt"]))
        == (r["response"]["decision"] == "approve")
        for r in v6
    ]
    assert len(v6) > 50 and 0.85 < sum(right) / len(right) < 0.99


def test_the_server_answers_what_the_simulation_logged(tmp_path: Path) -> None:
    logged = decisions(tmp_path, 170)
    server = ModelServer(tmp_path / "endpoints.json").start()
    try:
        with httpx.Client(timeout=10) as client:
            models = client.get(f"{server.base_url('v7')}/models").json()
            assert models["data"][0]["id"] == "v7"
            by_version = {
                v: [r for r in logged if r["model"]["version"] == v] for v in ("v6", "v7")
            }
            for version, records in by_version.items():
                assert len(records) >= 40
                for record in records[:120]:
                    answer = ask(client, server, version, record)
                    assert answer["decision"] == record["response"]["decision"]
                    assert answer["score"] == record["response"]["score"]
            # v7's reported wrong declines: v6 approves them, v7 declines them again.
            reported = {f["request_id"] for f in feedback(tmp_path)}
            wrong = [r for r in by_version["v7"] if r["request_id"] in reported]
            assert len(wrong) >= 5
            for record in wrong:
                assert ask(client, server, "v6", record)["decision"] == "approve"
                assert ask(client, server, "v7", record)["decision"] == "decline"
            bad = client.post(f"{server.base_url('v6')}/chat/completions", content=b"[1]")
            assert bad.status_code == 400
    finally:
        server.stop()
    assert not (tmp_path / "endpoints.json").exists()


def test_under_the_outdated_policy_both_versions_decline_the_creditworthy(tmp_path: Path) -> None:
    logged = decisions(tmp_path, STALE_POLICY_AT + 60)
    stale = [
        r
        for r in logged
        if r["prompt"]["retrieved"][0]["content_hash"] == credit.POLICY_HASH["CR-6"]
    ]
    assert stale and all(r["prompt"]["retrieved"][0]["id"] == "policy-cr7" for r in stale)
    hit = [
        r
        for r in stale
        if credit.creditworthy(Prompt.model_validate(r["prompt"]))
        and r["response"]["decision"] == "decline"
        and all(
            credit.decide(v, Prompt.model_validate(r["prompt"])).decision == "decline"
            for v in ("v6", "v7")
        )
    ]
    assert len(hit) >= 10
    reports = [f for f in feedback(tmp_path) if f["target"] == credit.SERVICE]
    hit_ids = {r["request_id"] for r in hit}
    assert len(reports) >= 5
    assert sum(f["request_id"] in hit_ids for f in reports) >= 0.9 * len(reports)
    everything = b"".join(p.read_bytes() for p in (tmp_path / "demo" / "logs").glob("*.jsonl"))
    assert b"upstream" not in everything.lower()


async def test_the_demo_writes_its_endpoints_and_its_settings_carry_them(tmp_path: Path) -> None:
    context = Context(Settings(), tmp_path / "data", tmp_path / "thirdbook.toml", demo=True)
    session = DemoSession(context, speed=20)
    endpoints = session.context.settings.replay.endpoints
    assert set(endpoints) == {"v6", "v7"}
    again = Context.load(tmp_path / "data", tmp_path / "thirdbook.toml", demo=True)
    assert again.settings.replay.endpoints == endpoints
    url = endpoints["v6"].url
    assert url is not None and url.startswith("http://127.0.0.1:") and url.endswith("/v6/v1")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{url}/models")).status_code == 200
    stop = asyncio.Event()
    stop.set()
    await session.run_estate(stop)
    assert (
        Context.load(
            tmp_path / "data", tmp_path / "thirdbook.toml", demo=True
        ).settings.replay.endpoints
        == {}
    )


async def test_the_upstream_failure_raises_its_own_alert(tmp_path: Path) -> None:
    context = Context(Settings(), tmp_path / "data", tmp_path / "thirdbook.toml", demo=True)
    session = DemoSession(context, speed=40)
    console = await session.open_services(ingest=True)
    assert console.ingest is not None
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(session.layer.run(stop)),
        asyncio.create_task(console.ingest.run(stop)),
    ]
    try:
        deadline = time.monotonic() + 60
        found = None
        while found is None:
            assert time.monotonic() < deadline, "no alert for the outdated policy"
            alerts = (await console.queries.alerts()).items
            found = next(
                (a for a in alerts if a.kind == "feedback" and credit.SERVICE in a.key), None
            )
            await asyncio.sleep(0.1)
        assert session.layer.demo_seconds >= STALE_POLICY_AT
        assert "upstream" not in found.summary.lower()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await console.close()
