"""A real OpenAI-compatible chat server on 127.0.0.1 for replay tests and the benchmark.

Each version is served under `/{version}/v1/chat/completions`; `decide(version, body)`
returns the decision. `modes[version]` makes it misbehave: "500x2" (two 500s then fine),
"429x1", "slow", "nonjson", "truncated", "huge", "redirect", "escape", "toolcall",
"closeidle" (answers, then closes the connection without saying so first).
It counts connections (and those it closed), requests, the most in flight at once, and
keeps every header it saw.

It is an asyncio HTTP/1.1 keep-alive server on its own event loop in its own thread, so
every request really is answered `delay_s` after it arrived, independently of the others
(the threaded `http.server` it replaces had a listen backlog of 5: the 7th and 8th
concurrent connections waited a second for a SYN retransmit).

A request counts as in flight from when its body has been read to just before its answer
is written: inside the client's own wait, so `max_in_flight` never exceeds what the client
had in flight (counting after the write let the client's next request arrive first).
"""

from __future__ import annotations

import asyncio
import json
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

REASONS = {200: "OK", 307: "Temporary Redirect", 429: "Too Many Requests", 500: "Error"}

Reply = tuple[int, bytes, dict[str, str], bool]
"""Status, body, extra headers, and whether to close the connection after it."""


class ChatServer:
    def __init__(
        self,
        decide: Callable[[str, dict[str, Any]], str],
        *,
        delay_s: float = 0.0,
        modes: dict[str, str] | None = None,
    ) -> None:
        self.decide = decide
        self.delay_s = delay_s
        self.modes = modes or {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.connections = 0
        self.closed = 0
        """Connections the server closed after answering ("closeidle"), the socket shut."""
        self.busy_s = 0.0
        """Sum over requests of body read -> answer ready (the server's own time)."""
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.headers: list[dict[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.fail_counts: dict[str, int] = {}
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=512)
        self._port = int(self._sock.getsockname()[1])
        # select() sleeps to the microsecond; epoll (asyncio's default) rounds every timeout
        # up to the next millisecond, half a millisecond late on average (1 % of 50 ms).
        self._loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def port(self) -> int:
        return self._port

    def url(self, version: str) -> str:
        return f"http://127.0.0.1:{self.port}/{version}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        self.thread.join()

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve_until_stopped())
        finally:
            self._loop.close()
            self._sock.close()

    async def _serve_until_stopped(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self._sock)
        self._ready.set()
        await self._stop.wait()
        server.close()
        # Connections still open (a sleeping "slow" answer, a keep-alive) are dropped.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: requests one after the other until either side closes."""
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                line, *lines = head.decode("latin-1").split("\r\n")
                path = line.split(" ")[1]
                headers: dict[str, str] = {}
                for raw in lines:
                    if ":" in raw:
                        key, value = raw.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, data, extra, close = await self._handle(path, headers, body)
                writer.write(_response(status, data, extra))
                await writer.drain()
                if close:
                    writer.close()
                    await writer.wait_closed()
                    self.closed += 1
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return  # a client that hung up (a cancel, a timeout) is not an error worth printing
        except asyncio.CancelledError:
            return  # the server stopping (3.11's streams print a cancelled connection task)
        finally:
            writer.close()

    async def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = json.loads(raw)
        version = path.strip("/").split("/")[0]
        started = time.monotonic()
        if self.first_at is None:
            self.first_at = started
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.headers.append(headers)
        self.bodies.append(body)
        try:
            return await self._answer(version, body)
        finally:
            self.in_flight -= 1  # before the write: see the module's docstring
            self.last_at = time.monotonic()
            self.busy_s += self.last_at - started

    async def _answer(self, version: str, body: dict[str, Any]) -> Reply:
        mode = self.modes.get(version, "")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if mode.startswith(("500x", "429x")):
            status, times = int(mode[:3]), int(mode[4:])
            seen = self.fail_counts.get(version, 0)
            self.fail_counts[version] = seen + 1
            if seen < times:
                return status, b'{"error":"busy"}', {}, False
        if mode == "slow":
            await asyncio.sleep(5)
        if mode == "redirect":
            return 307, b"", {"location": "http://example.invalid/v1/chat/completions"}, False
        if mode == "nonjson":
            return 200, b"<html>gateway</html>", {}, False
        if mode == "closeidle":
            return 200, self._chat(version, body, mode), {}, True
        if mode == "truncated":
            return 200, b'{"choices": [{"mess', {"content-length": "500"}, True
        return 200, self._chat(version, body, mode), {}, False

    def _chat(self, version: str, body: dict[str, Any], mode: str) -> bytes:
        content = json.dumps({"decision": self.decide(version, body), "score": 0.5})
        if mode == "escape":
            content = json.dumps(
                {"decision": self.decide(version, body), "reason": "\x1b]52;c;AAAA\x07[red]x[/red]"}
            )
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if mode == "toolcall":
            message["tool_calls"] = [
                {"id": "c1", "type": "function", "function": {"name": "rm_rf", "arguments": "{}"}}
            ]
        doc = {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message}],
        }
        if mode == "huge":
            doc["padding"] = "x" * 200_000
        return json.dumps(doc).encode()


def _response(status: int, data: bytes, extra: dict[str, str]) -> bytes:
    headers = {"content-type": "application/json", "content-length": str(len(data)), **extra}
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return (head + "\r\n").encode("latin-1") + data
