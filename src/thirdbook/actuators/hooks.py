"""Configured hooks: a command or a webhook run by a containment action.

The hook gets the incident and the action as JSON (on stdin, or as the POST body). It runs
under a timeout (a command is killed with its whole process group); its exit or HTTP status and
the first `OUTPUT_LIMIT` bytes of its output are returned, never raised, so the caller can
record them whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import string
import time

from pydantic import BaseModel, ConfigDict

from thirdbook.config import HookConfig

OUTPUT_LIMIT = 64 * 1024


class HookResult(BaseModel):
    """What a hook did."""

    model_config = ConfigDict(frozen=True)

    target: str
    ok: bool
    status: int | None  # exit status, or HTTP status
    output: bytes
    truncated: bool
    error: str | None
    seconds: float

    def summary(self) -> str:
        """One line for the timeline."""
        kind = "exit" if self.target.startswith("command ") else "HTTP"
        said = f"{kind} {self.status}" if self.status is not None else "no status"
        cut = " (cut)" if self.truncated else ""
        return (
            f"{self.target}: {'ok' if self.ok else 'FAILED'} ({said}"
            f"{'' if self.error is None else ', ' + self.error}) in {self.seconds:.1f} s; "
            f"{len(self.output)} bytes of output{cut}"
        )


async def run_hook(hook: HookConfig, payload: bytes) -> HookResult:
    """Run one hook with `payload`; failures come back as a result, not an exception."""
    started = time.monotonic()
    if hook.command is not None:
        ok, status, output, truncated, error = await _run_command(
            hook.command, payload, hook.timeout_s
        )
        target = "command " + " ".join(hook.command)
    else:
        ok, status, output, truncated, error = await asyncio.to_thread(
            _post, str(hook.url), hook.headers, payload, hook.timeout_s
        )
        target = "webhook " + str(hook.url)
    return HookResult(
        target=target,
        ok=ok,
        status=status,
        output=output,
        truncated=truncated,
        error=error,
        seconds=time.monotonic() - started,
    )


_Outcome = tuple[bool, int | None, bytes, bool, str | None]


async def _run_command(argv: list[str], payload: bytes, timeout_s: float) -> _Outcome:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return False, None, b"", False, f"cannot run it: {exc.strerror or exc}"
    assert proc.stdin is not None and proc.stdout is not None
    stdout = proc.stdout
    kept = bytearray()
    seen = 0

    async def talk() -> None:
        nonlocal seen
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(payload)  # type: ignore[union-attr]
            await proc.stdin.drain()  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        while chunk := await stdout.read(65536):
            seen += len(chunk)
            kept.extend(chunk[: max(0, OUTPUT_LIMIT - len(kept))])  # the rest is drained
        await proc.wait()

    try:
        await asyncio.wait_for(talk(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return False, None, bytes(kept), seen > len(kept), f"timed out after {timeout_s:g} s"
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    code = proc.returncode
    return code == 0, code, bytes(kept), seen > len(kept), None


def _post(url: str, headers: dict[str, str], payload: bytes, timeout_s: float) -> _Outcome:
    import urllib.error  # only when a webhook is called: it costs start-up time otherwise
    import urllib.request

    try:
        expanded = {k: string.Template(v).substitute(os.environ) for k, v in headers.items()}
    except (KeyError, ValueError) as exc:
        return False, None, b"", False, f"header needs environment variable {exc}"
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "thirdbook", **expanded},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read(OUTPUT_LIMIT + 1)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        body = exc.read(OUTPUT_LIMIT + 1)
        return False, exc.code, body[:OUTPUT_LIMIT], len(body) > OUTPUT_LIMIT, str(exc.reason)
    except TimeoutError:
        return False, None, b"", False, f"timed out after {timeout_s:g} s"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, None, b"", False, f"cannot reach it: {reason}"
    return 200 <= status < 300, status, body[:OUTPUT_LIMIT], len(body) > OUTPUT_LIMIT, None
