"""A real OpenAI-compatible chat server on 127.0.0.1 for replay tests and the benchmark.

Each version is served under `/{version}/v1/chat/completions`; `decide(version, body)`
returns the decision. `modes[version]` makes it misbehave: "500x2" (two 500s then fine),
"429x1", "slow", "nonjson", "truncated", "huge", "redirect", "escape", "toolcall".
It counts requests, the most in flight at once, and keeps every header it saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.headers: list[dict[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.fail_counts: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                outer._handle(self)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, version: str) -> str:
        return f"http://127.0.0.1:{self.port}/{version}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length", "0"))
        body = json.loads(h.rfile.read(length))
        version = h.path.strip("/").split("/")[0]
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.headers.append({k.lower(): v for k, v in h.headers.items()})
            self.bodies.append(body)
        try:
            self._answer(h, version, body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _send(self, h: BaseHTTPRequestHandler, status: int, data: bytes, **extra: str) -> None:
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", extra.pop("length", str(len(data))))
        for key, value in extra.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def _answer(self, h: BaseHTTPRequestHandler, version: str, body: dict[str, Any]) -> None:
        mode = self.modes.get(version, "")
        if self.delay_s:
            time.sleep(self.delay_s)
        if mode.startswith(("500x", "429x")):
            status, times = int(mode[:3]), int(mode[4:])
            with self.lock:
                seen = self.fail_counts.get(version, 0)
                self.fail_counts[version] = seen + 1
            if seen < times:
                self._send(h, status, b'{"error":"busy"}')
                return
        if mode == "slow":
            time.sleep(5)
        if mode == "redirect":
            self._send(h, 307, b"", location="http://example.invalid/v1/chat/completions")
            return
        if mode == "nonjson":
            self._send(h, 200, b"<html>gateway</html>")
            return
        if mode == "truncated":
            self._send(h, 200, b'{"choices": [{"mess', length="500")
            h.close_connection = True
            return
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
        self._send(h, 200, json.dumps(doc).encode())


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up (a cancel, a timeout) is not an error worth printing."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None
