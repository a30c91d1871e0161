"""A fake OpenAI-compatible server on 127.0.0.1 for the OTLP fixture generator (stdlib only).

It answers `POST /v1/chat/completions` the way the OpenAI API does: a `chat.completion` body
(or, with `"stream": true`, `chat.completion.chunk` server-sent events ending in `[DONE]`), a
`tool_calls` answer when the request offers tools and no tool result has come back yet, and
OpenAI's 404 `model_not_found` error for the model named `UNKNOWN_MODEL`. Ids are derived from
a request counter, so the same sequence of requests gets the same ids on every run.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UNKNOWN_MODEL = "gpt-4o-mini-retired"
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z: a fixed `created`, so bodies do not vary
FINGERPRINT = "fp_thirdbook01"


def _served_model(requested: str) -> str:
    """The dated snapshot name a provider answers with, as OpenAI does for an alias."""
    return f"{requested}-2024-07-18" if requested == "gpt-4o-mini" else requested


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(_tokens(str(m.get("content") or "")) + 4 for m in messages)


class _Replies:
    """Chooses the answer to one chat request; numbers the responses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def next_id(self, prefix: str) -> str:
        with self._lock:
            self._count += 1
            return f"{prefix}{self._count:04d}"

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = request.get("messages", [])
        wants_tool = bool(request.get("tools")) and not any(
            m.get("role") == "tool" for m in messages
        )
        response_id = self.next_id("chatcmpl-Bq7fXthirdbookfixture")
        if wants_tool:
            call_id = self.next_id("call_Zk3thirdbook")
            arguments = json.dumps({"incident_id": "INC-1042", "include_timeline": True})
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_incident", "arguments": arguments},
                    }
                ],
            }
            finish, completion_tokens = "tool_calls", 18
        else:
            text = _reply_text(messages)
            message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
            finish, completion_tokens = "stop", _tokens(text)
        prompt_tokens = _prompt_tokens(messages)
        return {
            "id": response_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": _served_model(str(request.get("model"))),
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }


def _reply_text(messages: list[dict[str, Any]]) -> str:
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return (
            "INC-1042 is a SEV2 opened at 09:12 UTC: the refund bot approved 14 refunds over the "
            "limit after the 08:55 model rollout. Roll back to the previous weights and page "
            "the payments on-call."
        )
    return "Your refund of 42.00 EUR was approved on 3 March and should arrive in 3-5 days."


def _chunks(body: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """The completion `body` cut into the chunks OpenAI streams (text answers only)."""
    text = body["choices"][0]["message"]["content"] or ""
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    base = {k: body[k] for k in ("id", "created", "model", "service_tier", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    out = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    out += [chunk({"content": p}, None) for p in pieces]
    out.append(chunk({}, "stop"))
    if include_usage:
        out.append({**base, "choices": [], "usage": body["usage"]})
    return out


def _handler(replies: _Replies) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fake-openai/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the generator's output is the files it writes."""

        def _send_json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", replies.next_id("req_thirdbook"))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json(404, {"error": {"message": f"Unknown path {self.path}"}})
                return
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            model = str(request.get("model"))
            if model == UNKNOWN_MODEL:
                message = f"The model `{model}` does not exist or you do not have access to it."
                error = {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "model_not_found",
                }
                self._send_json(404, {"error": error})
                return
            body = replies.answer(request)
            if not request.get("stream"):
                self._send_json(200, body)
                return
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for piece in _chunks(body, include_usage):
                self.wfile.write(b"data: " + json.dumps(piece).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


class FakeOpenAI:
    """The fake server, running in a daemon thread while the context is open."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(_Replies()))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
