"""The demo's model server: v6 and v7 of the credit scorer behind the OpenAI-compatible
chat-completions API, on 127.0.0.1 at an ephemeral port.

Each version has its own base URL, `http://127.0.0.1:PORT/v6/v1` and `.../v7/v1`:
`POST {base}/chat/completions` reads the prompt back from the messages
(`captured_parts`) and answers with `choices[0].message.content` a JSON string
`{"decision", "score", "reason"}` from the same decision functions the simulation uses
(`thirdbook.demo.credit`), so a replayed decision is answered as it was logged.
`GET {base}/models` lists the version. It runs in a thread of its own beside the
simulation, and writes its base URLs to a small file where the demo's config reads them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from thirdbook.demo import credit
from thirdbook.domain.replay_payload import captured_parts

VERSIONS = ("v6", "v7")
MODEL = "credit-scorer"
MAX_BODY = 1 << 20


def answer(version: str, body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions answer of `version` to the request `body`."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ValueError("messages must be a list of objects")
    decision = credit.decide(version, captured_parts(messages))
    content = json.dumps(
        {"decision": decision.decision, "score": decision.score, "reason": decision.reason}
    )
    return {
        "id": f"chatcmpl-demo-{version}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or version),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "thirdbook-demo-model"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console owns the terminal."""

    def _version(self, suffix: str) -> str | None:
        for version in VERSIONS:
            if self.path.rstrip("/") == f"/{version}/v1{suffix}":
                return version
        return None

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error"}})

    def do_GET(self) -> None:
        version = self._version("/models")
        if version is None:
            self._error(404, f"no such path: {self.path}")
            return
        self._send(
            200,
            {"object": "list", "data": [{"id": version, "object": "model", "owned_by": MODEL}]},
        )

    def do_POST(self) -> None:
        version = self._version("/chat/completions")
        if version is None:
            self._error(404, f"no such path: {self.path}")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._error(400, "the request body's length is missing or too large")
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the request must be a JSON object")
            payload = answer(version, body)
        except (ValueError, TypeError) as exc:
            self._error(400, f"bad request: {exc}")
            return
        self._send(200, payload)


class ModelServer:
    """The server in its own thread; `start` binds an ephemeral port on 127.0.0.1."""

    def __init__(self, endpoints_file: Path | None = None) -> None:
        self.endpoints_file = endpoints_file
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on (after `start`)."""
        assert self._server is not None, "the model server is not started"
        return int(self._server.server_address[1])

    def base_url(self, version: str) -> str:
        """The OpenAI base URL of one version."""
        return f"http://127.0.0.1:{self.port}/{version}/v1"

    def endpoints(self) -> dict[str, dict[str, str]]:
        """Each version's endpoint as `[replay.endpoints]` takes it."""
        return {version: {"url": self.base_url(version)} for version in VERSIONS}

    def start(self) -> ModelServer:
        """Listen, serve in a daemon thread, and write the endpoints file (once: a started
        server is left as it is)."""
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-model-server", daemon=True
        )
        self._thread.start()
        if self.endpoints_file is not None:
            self.endpoints_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.endpoints_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.endpoints(), indent=2) + "\n")
            temporary.replace(self.endpoints_file)
        return self

    def stop(self) -> None:
        """Stop serving and remove the endpoints file (a stopped demo points nowhere)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.endpoints_file is not None:
            with contextlib.suppress(OSError):
                self.endpoints_file.unlink()
