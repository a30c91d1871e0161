"""Where a model version answers a replay: an OpenAI-compatible chat-completions endpoint
over httpx, or a command (one JSON object on stdin, one on stdout).

Every failure is an `EndpointError` with a one-line reason a commander can read. The API
key is read from the environment at request time and travels only in the Authorization
header: it is never kept on the endpoint, in the request record or in an error.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from thirdbook.config import ReplayEndpointConfig
from thirdbook.domain.replay_payload import ChatMessage

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    """What an endpoint returned: the raw body (as received, at most the cap: `cut` when
    there was more), the answer's text content, and any tool calls it asked for (shown,
    never executed). A failed answer that had a body has its body and no content."""

    body: bytes
    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1
    status: int | None = None
    """The HTTP status (None for a command)."""
    cut: bool = False


class EndpointError(RuntimeError):
    """An endpoint gave no usable answer (the reason is one sentence); `received` is what it
    did send back, when it sent a body (kept as evidence like any answer)."""

    def __init__(self, reason: str, received: Answer | None = None) -> None:
        super().__init__(reason)
        self.received = received


@dataclass
class _Received:
    """One attempt's answer as it arrives: its status and the body up to the cap."""

    status: int = 0
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    cut: bool = False

    def answer(self, attempts: int) -> Answer | None:
        """The failed answer as kept (None when it had no body)."""
        if not self.size:
            return None
        body = b"".join(self.chunks)
        return Answer(body=body, content="", attempts=attempts, status=self.status, cut=self.cut)


class Endpoint(Protocol):
    """One model version's answerer."""

    version: str
    display: str

    def request_body(self, messages: list[ChatMessage]) -> dict[str, Any]:
        """The request as sent (no credentials)."""

    async def answer(self, messages: list[ChatMessage]) -> Answer:
        """Send `messages`; the answer, or `EndpointError`."""

    async def aclose(self) -> None:
        """Release connections."""


def display_url(url: str) -> str:
    """`url` without user, password, query or fragment (safe to store and show)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class HttpEndpoint:
    """POST {url}/chat/completions, temperature 0 and a fixed seed, retries with backoff on
    429, 5xx and timeouts, redirects refused, the answer read streaming up to a cap.

    One `httpx.AsyncClient` an endpoint, its keep-alive pool as large as the requests a run
    can have in flight (`connections`), so no request waits for a connection or opens one
    anew once the pool is warm."""

    def __init__(
        self,
        version: str,
        config: ReplayEndpointConfig,
        *,
        seed: int,
        retries: int,
        max_answer_bytes: int,
        backoff_s: float = 0.2,
        connections: int = 256,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if config.url is None:
            raise ValueError("an HTTP endpoint needs a url")
        self.version = version
        self.display = display_url(config.url)
        try:  # parsed once here, not again for every request
            self._url = httpx.URL(config.url.rstrip("/") + "/chat/completions")
        except httpx.InvalidURL as exc:
            raise ValueError(f"{self.display} is not a URL to send to: {exc}") from None
        self._model = config.model or version
        self._key_env = config.api_key_env
        self._timeout = config.timeout_s
        self._seed = seed
        self._retries = retries
        self._cap = max_answer_bytes
        self._backoff = backoff_s
        self._client = client or httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(config.timeout_s),
            # The body is kept as received: no compressed answer to decode (or to inflate
            # past the cap).
            headers={"content-type": "application/json", "accept-encoding": "identity"},
            # HTTP(S)_PROXY, NO_PROXY and SSL_CERT_FILE from the environment are honoured, as
            # by any httpx client: a bastion's proxy and a private CA work unconfigured.
            transport=httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=connections, max_keepalive_connections=connections
                ),
                http1=True,
                http2=False,
                # Headers and body go as two writes: without TCP_NODELAY the body waits for
                # the server's delayed ACK (up to 40 ms a request).
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ),
        )

    def request_body(self, messages: list[ChatMessage]) -> dict[str, Any]:
        return {
            "model": self._model,
            "messages": messages,
            "temperature": 0,
            "seed": self._seed,
        }

    def _headers(self) -> dict[str, str] | None:
        """The request's own headers (the client has the rest): the key, read now."""
        if self._key_env is None:
            return None
        key = os.environ.get(self._key_env)
        if not key:
            raise EndpointError(f"the environment variable {self._key_env} is not set")
        return {"authorization": f"Bearer {key}"}

    async def answer(self, messages: list[ChatMessage]) -> Answer:
        body = json.dumps(self.request_body(messages)).encode()
        headers = self._headers()
        attempt = 0
        while True:
            attempt += 1
            got = _Received()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for runs the request in a task
                # of its own, about a third of the client's CPU per request.
                async with asyncio.timeout(self._timeout):
                    await self._post(body, headers, got)
            except (TimeoutError, httpx.TimeoutException):
                reason = f"no answer within {self._timeout:g} s"
            except httpx.ConnectError:
                reason = f"{self.display} refused the connection or is down"
            except httpx.RemoteProtocolError:
                why = f"{self.display} closed the connection mid-answer (truncated)"
                raise EndpointError(why, got.answer(attempt)) from None
            except httpx.HTTPError as exc:
                why = f"{self.display}: {type(exc).__name__}"
                raise EndpointError(why, got.answer(attempt)) from None
            else:
                status = got.status
                if status not in RETRY_STATUSES:
                    return self._answered(got, attempt)
                reason = f"{self.display} answered HTTP {status}"
            if attempt > self._retries:
                why = f"{reason} (after {attempt} attempts)"
                raise EndpointError(why, got.answer(attempt))
            await asyncio.sleep(self._backoff * (2 ** (attempt - 1)))

    def _answered(self, got: _Received, attempt: int) -> Answer:
        """The answer to a request that got one (not to be retried), or why it is unusable."""
        status = got.status
        if 300 <= status < 400:
            why = f"{self.display} answered with a redirect (HTTP {status}), refused"
            raise EndpointError(why, got.answer(attempt))
        if status >= 400:
            raise EndpointError(f"{self.display} answered HTTP {status}", got.answer(attempt))
        if got.cut:
            why = (
                f"{self.display}'s answer is over the cap of {self._cap} bytes "
                f"(its first {self._cap} bytes kept)"
            )
            raise EndpointError(why, got.answer(attempt))
        raw = b"".join(got.chunks)
        try:
            content, calls = parse_chat_answer(raw, self.display)
        except EndpointError as exc:
            raise EndpointError(str(exc), got.answer(attempt)) from None
        return Answer(body=raw, content=content, tool_calls=calls, attempts=attempt, status=status)

    async def _post(self, body: bytes, headers: dict[str, str] | None, got: _Received) -> None:
        """POST once, the answer into `got` as it arrives: a failure keeps what came before
        it, and nothing past the cap is read (leaving early closes the connection)."""
        async with self._client.stream("POST", self._url, content=body, headers=headers) as resp:
            got.status = resp.status_code
            async for chunk in resp.aiter_raw():
                room = self._cap - got.size
                if len(chunk) > room:
                    got.chunks.append(chunk[:room])
                    got.size += room
                    got.cut = True
                    return
                got.chunks.append(chunk)
                got.size += len(chunk)

    async def aclose(self) -> None:
        await self._client.aclose()


def parse_chat_answer(raw: bytes, display: str) -> tuple[str, list[dict[str, Any]]]:
    """The text content and tool calls of an OpenAI chat-completions answer."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise EndpointError(f"{display}'s answer is not JSON (or was cut short)") from None
    try:
        message = doc["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(f"{display}'s answer has no choices[0].message") from None
    if not isinstance(message, dict):
        raise EndpointError(f"{display}'s answer has no choices[0].message")
    content = message.get("content")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        calls = []
    text = content if isinstance(content, str) else ""
    return text, [c for c in calls if isinstance(c, dict)]


class CommandEndpoint:
    """argv given the request as one JSON object on stdin; its stdout is one JSON object
    (a chat-completions answer, or `{"content": …}`). Killed on timeout."""

    def __init__(
        self, version: str, config: ReplayEndpointConfig, *, seed: int, max_answer_bytes: int
    ) -> None:
        if config.command is None:
            raise ValueError("a command endpoint needs a command")
        self.version = version
        self.display = "command:" + os.path.basename(config.command[0])
        self._argv = list(config.command)
        self._model = config.model or version
        self._timeout = config.timeout_s
        self._seed = seed
        self._cap = max_answer_bytes

    def request_body(self, messages: list[ChatMessage]) -> dict[str, Any]:
        return {"model": self._model, "messages": messages, "temperature": 0, "seed": self._seed}

    async def answer(self, messages: list[ChatMessage]) -> Answer:
        raw = await run_json_command(
            self._argv, self.request_body(messages), self._timeout, self._cap, self.display
        )
        try:
            doc = json.loads(raw)
        except ValueError:
            why = f"{self.display} printed no JSON object"
            raise EndpointError(why, _printed(raw)) from None
        if isinstance(doc, dict) and "choices" in doc:
            try:
                content, calls = parse_chat_answer(raw, self.display)
            except EndpointError as exc:
                raise EndpointError(str(exc), _printed(raw)) from None
            return Answer(body=raw, content=content, tool_calls=calls)
        if isinstance(doc, dict) and isinstance(doc.get("content"), str):
            return Answer(body=raw, content=doc["content"])
        return Answer(body=raw, content=raw.decode("utf-8", "replace"))

    async def aclose(self) -> None:
        return None


async def run_json_command(
    argv: list[str], payload: Any, limit_s: float, cap: int, display: str
) -> bytes:
    """Run argv with `payload` as JSON on stdin; its stdout (killed after `limit_s`)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        raise EndpointError(f"{display} could not start: {exc.strerror}") from None
    try:
        out, _ = await asyncio.wait_for(
            proc.communicate(json.dumps(payload).encode()), timeout=limit_s
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise EndpointError(f"{display} gave no answer within {limit_s:g} s (killed)") from None
    if len(out) > cap:
        why = f"{display}'s answer is over the cap of {cap} bytes (its first {cap} bytes kept)"
        raise EndpointError(why, _printed(out[:cap], cut=True))
    if proc.returncode != 0:
        why = f"{display} exited with status {proc.returncode}"
        raise EndpointError(why, _printed(out))
    return out


def _printed(out: bytes, *, cut: bool = False) -> Answer | None:
    """A command's output kept with its failure (None when it printed nothing)."""
    return Answer(body=out, content="", cut=cut) if out else None


def build_endpoint(
    version: str,
    config: ReplayEndpointConfig,
    *,
    seed: int,
    retries: int,
    max_answer_bytes: int,
    connections: int = 256,
) -> HttpEndpoint | CommandEndpoint:
    """The endpoint `config` describes (`connections`: the run's concurrency, at most)."""
    if config.url is not None:
        return HttpEndpoint(
            version,
            config,
            seed=seed,
            retries=retries,
            max_answer_bytes=max_answer_bytes,
            connections=connections,
        )
    return CommandEndpoint(version, config, seed=seed, max_answer_bytes=max_answer_bytes)
