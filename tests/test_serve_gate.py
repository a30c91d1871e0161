"""`thirdbook serve`'s door: what is refused before anything listens (a remote address
without --allow-remote, a remote or acting server without a token), and, on the real
server's aiohttp application, every request and the websocket without the token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import ClientResponse, WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from thirdbook.cli import main
from thirdbook.services.factory import Context
from thirdbook.store import Store
from thirdbook.tui.serve_gate import ServePlan, is_loopback, plan_serving
from thirdbook.tui.serve_web import ConsoleServer

TOKEN = "a-token-of-thirty-two-characters"


def serve(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["serve", *args])
    return done.exit_code, done.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0 is not a loopback address"),
        (["--host", "192.0.2.7"], "needs --allow-remote"),
        (["--host", "console.example.org"], "needs --allow-remote"),
        (["--host", "0.0.0.0", "--allow-remote", "--no-token"], "needs a token"),
        (["--no-token", "--allow-actions"], "could then act as you"),
        (["--token", "short"], "at least 16 characters"),
        (["--token", TOKEN, "--no-token"], "disagree"),
        (["--public-url", "ftp://x"], "not an http:// or https:// URL"),
    ],
)
def test_serving_is_refused_in_one_sentence_before_anything_listens(
    args: list[str], said: str
) -> None:
    code, output = serve(*args)
    assert code == 1
    assert said in output and output.startswith("Error: refused: ")
    assert len(output.strip().splitlines()) == 1


def test_a_read_only_server_needs_a_store_that_exists(tmp_path: Path) -> None:
    code, output = serve("--data-dir", str(tmp_path / "nowhere"))
    assert code == 1 and "no store at" in output
    assert not (tmp_path / "nowhere").exists()


def test_loopback_is_this_machine_only() -> None:
    for host in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "192.168.1.10", "example.org", "localhost.example.org"):
        assert not is_loopback(host), host


def test_a_remote_server_always_has_a_token_and_a_generated_one_is_long() -> None:
    plan = plan_serving(
        "0.0.0.0", 8000, allow_remote=True, token=None, no_token=False, allow_actions=False
    )
    assert plan.token is not None and len(plan.token) >= 32 and plan.token_generated
    again = plan_serving(
        "0.0.0.0", 8000, allow_remote=True, token=None, no_token=False, allow_actions=False
    )
    assert again.token != plan.token


async def _client(
    tmp_path: Path, plan: ServePlan, server: ConsoleServer | None = None
) -> TestClient[object, object]:
    context = Context.for_store(tmp_path / "data" / "thirdbook.db")
    server = server or ConsoleServer(context, plan)
    client: TestClient[object, object] = TestClient(
        TestServer(await server._make_app(), host="127.0.0.1", port=plan.port)
    )
    await client.start_server()
    return client


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[TestClient[object, object]]:
    plan = ServePlan("127.0.0.1", 0, TOKEN, token_generated=False, allow_actions=False)
    client = await _client(tmp_path, plan)
    yield client
    await client.close()


async def _text(response: ClientResponse) -> str:
    return (await response.text()).strip()


async def test_every_request_without_the_token_is_refused(
    gated: TestClient[object, object],
) -> None:
    for path in ("/", "/static/js/textual.js", "/ws", "/download/x", "/?token=wrong"):
        response = await gated.get(path)
        assert response.status == 401, path
        assert "needs its token" in await _text(response)
        assert "Set-Cookie" not in response.headers
    wrong = {"Cookie": "thirdbook_serve_0=wrong", "Authorization": "Bearer not-it"}
    assert (await gated.get("/", headers=wrong)).status == 401
    with pytest.raises(WSServerHandshakeError) as refused:
        await gated.ws_connect("/ws")
    assert refused.value.status == 401


async def test_the_token_in_the_address_becomes_a_cookie_and_leaves_the_address(
    gated: TestClient[object, object],
) -> None:
    first = await gated.get(f"/?token={TOKEN}&fontsize=14", allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == "/?fontsize=14"
    cookie = first.cookies["thirdbook_serve_0"]
    assert cookie.value == TOKEN and cookie["httponly"] and cookie["samesite"] == "Lax"
    page = await gated.get("/?fontsize=14")  # the client keeps the cookie, as a browser does
    html = await page.text()
    assert page.status == 200 and 'data-session-websocket-url="ws://127.0.0.1:' in html
    assert TOKEN not in html and "fonts.googleapis" not in html
    assert "read-only: browser sessions look but do not act" in html
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
    script = await gated.get("/static/js/textual.js")
    assert script.status == 200 and "WebSocket" in await script.text()


async def test_a_script_may_carry_the_token_as_a_bearer(
    gated: TestClient[object, object],
) -> None:
    page = await gated.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status == 200


async def test_a_loopback_server_answers_only_to_loopback_names(
    gated: TestClient[object, object],
) -> None:
    rebound = await gated.get(f"/?token={TOKEN}", headers={"Host": "attacker.example:8000"})
    assert rebound.status == 403
    assert "answers only to loopback names" in await _text(rebound)


async def test_a_websocket_from_another_sites_page_is_refused(
    gated: TestClient[object, object],
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://attacker.example"}
    with pytest.raises(WSServerHandshakeError) as refused:
        await gated.ws_connect("/ws", headers=headers)
    assert refused.value.status == 403


async def test_without_a_token_a_loopback_server_opens_to_loopback_only(
    tmp_path: Path,
) -> None:
    plan = ServePlan("127.0.0.1", 0, None, token_generated=False, allow_actions=False)
    client = await _client(tmp_path, plan)
    try:
        assert (await client.get("/")).status == 200
        assert (await client.get("/", headers={"Host": "evil.example"})).status == 403
    finally:
        await client.close()


async def test_past_max_sessions_a_websocket_is_refused_until_one_closes(tmp_path: Path) -> None:
    await (await Store.open(tmp_path / "data" / "thirdbook.db")).close()
    plan = ServePlan("127.0.0.1", 0, TOKEN, token_generated=False, allow_actions=False)
    server = ConsoleServer(Context.for_store(tmp_path / "data" / "thirdbook.db"), plan)
    server.plan = replace(plan, max_sessions=1)
    client = await _client(tmp_path, plan, server)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    try:
        first = await client.ws_connect("/ws?width=100&height=30", headers=bearer)
        drawn = await first.receive(timeout=120)  # the console is up and drawing
        assert drawn.type is WSMsgType.BINARY
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers=bearer)
        assert refused.value.status == 503
        await first.close()
        for _ in range(600):  # the console quits (up to ~60 s on a loaded machine)
            if server.opened == 0:
                break
            await asyncio.sleep(0.1)
        assert server.opened == 0 and not server.sessions
    finally:
        await client.close()
