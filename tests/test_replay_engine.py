"""Replay against a real OpenAI-compatible server on 127.0.0.1 (not a mock of the client)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from tests.replay_server import ChatServer
from thirdbook.config import ReplayEndpointConfig, ReplayExtractConfig
from thirdbook.domain.events import Prompt
from thirdbook.domain.replay_payload import (
    ChatMessage,
    MissingPromptError,
    captured_parts,
    chat_messages,
)
from thirdbook.domain.text import visible
from thirdbook.forensics.replay_endpoints import (
    Answer,
    CommandEndpoint,
    EndpointError,
    HttpEndpoint,
)
from thirdbook.forensics.replay_runner import ReplayAnswer, ReplayInput, run_replay
from thirdbook.forensics.replay_verdict import (
    Verdict,
    extract_decision,
    input_verdict,
    run_verdict,
)

KEY = "sk-test-DO-NOT-LEAK-5f1e2d"


def decide(version: str, body: dict[str, Any]) -> str:
    """v6 approves when the user text says 'good'; v7 declines everything; 'upstream' in
    the text makes both decline."""
    user = captured_parts(body["messages"]).user or ""
    if "upstream" in user:
        return "decline"
    if version == "v7":
        return "decline"
    return "approve" if "good" in user else "decline"


def endpoint(
    server: ChatServer, version: str, *, timeout: float = 10, retries: int = 3, cap: int = 1 << 16
) -> HttpEndpoint:
    config = ReplayEndpointConfig(
        url=server.url(version), api_key_env="TB_TEST_KEY", timeout_s=timeout
    )
    return HttpEndpoint(
        version, config, seed=7, retries=retries, max_answer_bytes=cap, backoff_s=0.01
    )


def inputs(*users: str) -> list[ReplayInput]:
    return [
        ReplayInput(f"req-{i}", chat_messages(Prompt(system="score it", user=u)))
        for i, u in enumerate(users)
    ]


async def replay(
    server: ChatServer, items: list[ReplayInput], **kw: Any
) -> dict[tuple[str, str], ReplayAnswer]:
    got: dict[tuple[str, str], ReplayAnswer] = {}

    async def sink(a: ReplayAnswer) -> None:
        got[(a.request_id, a.version)] = a

    eps = [endpoint(server, "v6"), endpoint(server, "v7")]
    await run_replay(
        items,
        eps,
        concurrency=kw.pop("concurrency", 8),
        extract=ReplayExtractConfig(),
        sink=sink,
        **kw,
    )
    for e in eps:
        await e.aclose()
    return got


async def wait_until(check: Any, ceiling_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ceiling_s
    while not check():
        assert loop.time() < deadline, "condition not met within the ceiling"
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TB_TEST_KEY", KEY)


async def test_the_four_verdicts_from_real_answers() -> None:
    with ChatServer(decide) as server:
        got = await replay(server, inputs("good applicant", "bad applicant", "upstream good", "x"))
    expected = {"req-0": "approve", "req-1": "decline", "req-2": "approve", "req-3": None}
    verdicts = {
        rid: input_verdict(exp, got[(rid, "v6")].decision, got[(rid, "v7")].decision)
        for rid, exp in expected.items()
    }
    assert verdicts == {
        "req-0": Verdict.REGRESSION,
        "req-1": Verdict.NOT_REPRODUCED,
        "req-2": Verdict.UPSTREAM,
        "req-3": Verdict.INCONCLUSIVE,
    }
    assert server.bodies[0]["temperature"] == 0 and server.bodies[0]["seed"] == 7
    assert {b["model"] for b in server.bodies} == {"v6", "v7"}
    assert all(h.get("authorization") == f"Bearer {KEY}" for h in server.headers)


def test_run_verdict_is_the_most_frequent_conclusive_one() -> None:
    v = Verdict
    assert run_verdict([v.REGRESSION, v.REGRESSION, v.UPSTREAM, v.INCONCLUSIVE])[0] is v.REGRESSION
    assert run_verdict([v.UPSTREAM, v.UPSTREAM, v.REGRESSION])[0] is v.UPSTREAM
    assert run_verdict([v.INCONCLUSIVE])[0] is v.INCONCLUSIVE
    verdict, counts = run_verdict([v.NOT_REPRODUCED, v.INCONCLUSIVE, v.INCONCLUSIVE])
    assert verdict is v.NOT_REPRODUCED and counts["inconclusive"] == 2


class Tally:
    """Requests in flight across endpoints, counted where the runner sends them."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0


class Counting:
    """An endpoint that counts its requests in flight in a `Tally`: the runner's bound, as
    the runner keeps it (a server's count also sees what a cancelled run had sent)."""

    def __init__(self, inner: HttpEndpoint, tally: Tally) -> None:
        self.inner = inner
        self.tally = tally
        self.version = inner.version
        self.display = inner.display

    def request_body(self, messages: list[ChatMessage]) -> dict[str, Any]:
        return self.inner.request_body(messages)

    async def answer(self, messages: list[ChatMessage]) -> Answer:
        self.tally.in_flight += 1
        self.tally.most = max(self.tally.most, self.tally.in_flight)
        try:
            return await self.inner.answer(messages)
        finally:
            self.tally.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def sent_pairs(server: ChatServer) -> set[tuple[str, str]]:
    """(request id, version) of every request `server` received (inputs are "good {i}")."""
    return {
        (f"req-{str(captured_parts(b['messages']).user).split()[-1]}", b["model"])
        for b in server.bodies
    }


async def test_concurrency_is_bounded_and_resume_sends_only_what_is_missing() -> None:
    """Each run on a server of its own: a request the cancelled first run had sent may reach
    its server after the cancel returned (under load it did, and counted a 4th in flight)."""
    items = inputs(*[f"good {i}" for i in range(24)])
    kept: dict[tuple[str, str], ReplayAnswer] = {}
    cancel = asyncio.Event()
    tally = Tally()
    with ChatServer(decide, delay_s=0.05) as first:
        eps = [Counting(endpoint(first, "v6"), tally), Counting(endpoint(first, "v7"), tally)]

        async def sink(a: ReplayAnswer) -> None:
            kept[(a.request_id, a.version)] = a
            if len(kept) >= 10:
                cancel.set()

        await run_replay(
            items, eps, concurrency=3, extract=ReplayExtractConfig(), sink=sink, cancel=cancel
        )
        assert tally.in_flight == 0  # the cancel waited for the requests it cancelled
        for e in eps:
            await e.aclose()
    assert 10 <= len(kept) < 48
    assert tally.most == 3 and first.max_in_flight <= 3
    answered = set(kept)
    tally = Tally()
    with ChatServer(decide, delay_s=0.05) as second:
        eps = [Counting(endpoint(second, "v6"), tally), Counting(endpoint(second, "v7"), tally)]
        await run_replay(
            items,
            eps,
            concurrency=3,
            extract=ReplayExtractConfig(),
            sink=sink,
            answered=answered,
            cancel=asyncio.Event(),
        )
        for e in eps:
            await e.aclose()
    assert len(kept) == 48
    assert second.requests == 48 - len(answered)  # only what was missing, each once
    assert not answered & sent_pairs(second)
    assert tally.most == 3 and second.max_in_flight <= 3


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("nonjson", "not JSON"),
        ("truncated", "truncated"),
        ("huge", "over the cap"),
        ("redirect", "redirect"),
        ("500x9", "HTTP 500 (after 4 attempts)"),
        ("slow", "no answer within 0.5 s"),
    ],
)
async def test_each_bad_answer_is_a_clear_failure(mode: str, message: str) -> None:
    with ChatServer(decide, modes={"v7": mode}) as server:
        ep = endpoint(server, "v7", timeout=0.5, retries=3)
        with pytest.raises(EndpointError, match=message.replace("(", r"\(").replace(")", r"\)")):
            await ep.answer(inputs("good")[0].messages)
        await ep.aclose()
        if mode == "redirect":
            assert server.requests == 1


async def test_a_500_with_a_body_hands_its_body_to_the_sink() -> None:
    with ChatServer(decide, modes={"v7": "500x9"}) as server:
        got = await replay(server, inputs("good"))
    failed = got[("req-0", "v7")]
    assert failed.error is not None and "HTTP 500 (after 4 attempts)" in failed.error
    assert failed.answer is not None and failed.answer.body == b'{"error":"busy"}'
    assert failed.answer.status == 500 and failed.answer.attempts == 4
    assert failed.decision is None and failed.shown_text == visible(failed.error)
    assert got[("req-0", "v6")].decision == "approve"


@pytest.mark.parametrize(
    ("mode", "body"),
    [
        ("nonjson", b"<html>gateway</html>"),
        ("truncated", b'{"choices": [{"mess'),
        ("huge", None),  # the first cap bytes, and no more
    ],
)
async def test_each_failed_answer_keeps_what_was_received(mode: str, body: bytes | None) -> None:
    with ChatServer(decide, modes={"v7": mode}) as server:
        got = await replay(server, inputs("good"))
    failed = got[("req-0", "v7")]
    assert failed.error is not None and failed.answer is not None
    if body is not None:
        assert failed.answer.body == body and not failed.answer.cut
    else:
        assert failed.answer.cut and len(failed.answer.body) == 1 << 16
        assert failed.answer.body.startswith(b'{"id": "x"')
        assert "its first 65536 bytes kept" in failed.error


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """A kept-alive connection the server has since closed is not reused: the next request
    opens a new one instead of failing (there are no retries here to hide it)."""
    with ChatServer(decide, modes={"v6": "closeidle"}) as server:
        config = ReplayEndpointConfig(url=server.url("v6"), api_key_env="TB_TEST_KEY")
        ep = HttpEndpoint("v6", config, seed=7, retries=0, max_answer_bytes=1 << 16)
        first = await ep.answer(inputs("good")[0].messages)
        await wait_until(lambda: server.closed == 1)
        second = await ep.answer(inputs("good")[0].messages)
        await ep.aclose()
    assert first.content == second.content and server.connections == 2


@pytest.mark.parametrize("mode", ["500x2", "429x2"])
async def test_retries_with_backoff_then_success(mode: str) -> None:
    with ChatServer(decide, modes={"v6": mode}) as server:
        ep = endpoint(server, "v6")
        answer = await ep.answer(inputs("good")[0].messages)
        await ep.aclose()
    assert answer.attempts == 3
    assert await extract_decision(answer.content, ReplayExtractConfig()) == "approve"


async def test_endpoint_down_is_said_and_the_run_goes_on() -> None:
    with ChatServer(decide) as server:
        port = server.port
    config = ReplayEndpointConfig(url=f"http://127.0.0.1:{port}/v6/v1", timeout_s=2)
    ep = HttpEndpoint("v6", config, seed=7, retries=1, max_answer_bytes=1 << 16, backoff_s=0.01)
    with pytest.raises(EndpointError, match="refused the connection or is down"):
        await ep.answer(inputs("good")[0].messages)
    await ep.aclose()


async def test_escapes_and_markup_are_sanitised_and_tool_calls_only_shown() -> None:
    with ChatServer(decide, modes={"v6": "escape", "v7": "toolcall"}) as server:
        got = await replay(server, inputs("good"))
    shown = got[("req-0", "v6")].shown_text
    assert "\x1b" not in shown and "\x07" not in shown
    assert got[("req-0", "v6")].decision == "approve"
    calls = got[("req-0", "v7")].answer
    assert calls is not None and calls.tool_calls[0]["function"]["name"] == "rm_rf"


def test_a_record_missing_its_prompt_is_refused_with_the_reason() -> None:
    with pytest.raises(MissingPromptError, match="holds no prompt"):
        chat_messages(None)


async def test_api_key_never_in_request_record_or_errors() -> None:
    with ChatServer(decide, modes={"v7": "500x9"}) as server:
        got = await replay(server, inputs("good"))
    for answer in got.values():
        assert KEY not in repr(answer.request) and KEY not in (answer.error or "")
        assert KEY not in answer.endpoint


async def test_a_missing_key_variable_is_said() -> None:
    with ChatServer(decide) as server:
        config = ReplayEndpointConfig(url=server.url("v6"), api_key_env="TB_NOT_SET_HERE")
        ep = HttpEndpoint("v6", config, seed=7, retries=0, max_answer_bytes=1 << 16)
        with pytest.raises(EndpointError, match="TB_NOT_SET_HERE is not set"):
            await ep.answer(inputs("good")[0].messages)
        await ep.aclose()


async def test_command_endpoint_and_its_timeout() -> None:
    script = (
        "import json,sys; r=json.load(sys.stdin); "
        "print(json.dumps({'content': json.dumps({'decision': r['model']})}))"
    )
    ep = CommandEndpoint(
        "v6",
        ReplayEndpointConfig(command=[sys.executable, "-c", script]),
        seed=7,
        max_answer_bytes=1 << 16,
    )
    answer = await ep.answer(inputs("good")[0].messages)
    assert await extract_decision(answer.content, ReplayExtractConfig()) == "v6"
    slow = CommandEndpoint(
        "v6",
        ReplayEndpointConfig(
            command=[sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5
        ),
        seed=7,
        max_answer_bytes=1 << 16,
    )
    with pytest.raises(EndpointError, match="killed"):
        await slow.answer(inputs("good")[0].messages)


async def test_regex_and_json_path_extractors() -> None:
    assert (
        await extract_decision(
            "I would DECIDE: approve", ReplayExtractConfig(json_path=None, regex=r"DECIDE: (\w+)")
        )
        == "approve"
    )
    assert (
        await extract_decision('{"r": {"d": "decline"}}', ReplayExtractConfig(json_path="r.d"))
        == "decline"
    )
    with pytest.raises(EndpointError, match=r"no r\.x"):
        await extract_decision('{"r": {}}', ReplayExtractConfig(json_path="r.x"))
