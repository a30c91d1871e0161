"""RELIABILITY D1-D3: hostile log data never reaches the terminal as control sequences.

The real program runs on a pseudo-terminal, on the demo estate plus lines (and a file name)
carrying OSC 52 (clipboard write), OSC 8 (hyperlink), CSI 2J (clear screen), C1 controls,
bidi overrides and Rich markup. Every byte it writes is read back: the only escape sequences
in it are the ones Textual itself uses to draw, and the hostile text is on screen as visible
escapes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

THIRDBOOK = [str(Path(sys.executable).with_name("thirdbook"))]
HOSTILE_SUBJECT = "\x1b]52;c;SGFja2Vk\x07x\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07"
HOSTILE_MODEL = "\x1b[2J\u009b31m\u202eredaeR[bold red]MARKUP[/]"
HOSTILE_TARGET = "\x1b]52;c;AAAA\x07\x1b[2J"
HOSTILE_FILE = "hostile-\x1b]0;pwned\x07.jsonl"

# What Textual writes to draw: SGR, cursor moves, private modes, keyboard protocol queries,
# and the pointer-shape OSC 22. Nothing else may appear.
_ESCAPE = re.compile(rb"\x1b(\[[0-9;:?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|.)", re.S)
_ALLOWED_CSI_FINAL = set(b"mHhlup")


def _hostile_lines() -> bytes:
    ts = "2026-11-27T10:00:00+00:00"
    records = [
        {
            "v": 1,
            "kind": "inference",
            "ts": ts,
            "request_id": "req-hostile-1",
            "subject": HOSTILE_SUBJECT,
            "model": {"name": HOSTILE_MODEL, "version": "v7", "weights_hash": "sha256:ab"},
            "prompt": {"text": "\x1b]52;c;cHJvbXB0\x07"},
            "response": {"text": "\x9b2J"},
        },
        {
            "v": 1,
            "kind": "agent_action",
            "ts": ts,
            "agent": "support-agent",
            "tool": "issue_refund",
            "target": HOSTILE_TARGET,
            "amount": 5,
        },
    ]
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _run_on_pty(
    argv: list[str], env: dict[str, str], steps: list[tuple[bytes, bytes]], ceiling: float
) -> bytes:
    """Run `argv` on a pseudo-terminal; each step waits until the output since the previous
    key holds its bytes (a person reading the screen), then types its key."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real program
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 240, 0, 0))
    out = bytearray()
    since = 0  # where the output after the last key starts
    deadline = time.monotonic() + ceiling
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if not steps:
                continue
            wanted, key = steps[0]
            if wanted in out[since:]:
                time.sleep(0.3)
                os.write(fd, key)
                steps.pop(0)
                since = len(out)
        assert not steps, f"waited {ceiling:.0f} s for {steps[0][0]!r} on screen"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return bytes(out)


def test_hostile_log_data_never_reaches_the_terminal(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        TERM="xterm-256color",
        THIRDBOOK_DATA_DIR=str(tmp_path / "data"),
        THIRDBOOK_CONFIG=str(tmp_path / "thirdbook.toml"),
    )
    env.pop("NO_COLOR", None)
    subprocess.run(
        [*THIRDBOOK, "demo", "--headless", "--duration", "2", "--speed", "20"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    logs = tmp_path / "data" / "demo" / "logs"
    (logs / HOSTILE_FILE).write_bytes(_hostile_lines())
    # Find the hostile decision in the explorer and open its raw line (which names its file).
    steps = [
        (b"inference", b"/"),  # events on screen: open the explorer
        (b"request:", b"request:req-hostile-1\r"),  # its filter is up
        (b"req-hostile-1", b"r"),  # the match is listed: its raw line
        (b".jsonl@0", b"\x1b"),
        (b"", b"q"),
    ]
    out = _run_on_pty([*THIRDBOOK, "demo", "--keep", "--speed", "0.5"], env, steps, 90.0)

    assert b"req-hostile-1" in out, "the hostile event was never drawn"
    for match in _ESCAPE.finditer(out):
        sequence = match.group(1)
        if sequence.startswith(b"["):
            assert sequence[-1] in _ALLOWED_CSI_FINAL, f"unexpected CSI {sequence!r}"
            assert not sequence.endswith(b"J"), "a clear-screen reached the terminal"
        elif sequence.startswith(b"]"):
            assert sequence.startswith(b"]22;"), f"unexpected OSC {sequence!r}"
        else:
            pytest.fail(f"unexpected escape {sequence!r}")
    text = out.decode("utf-8", errors="replace")
    assert not re.search("[\u0080-\u009f]", text), "a C1 control reached the terminal"
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", text), "a bidi override got through"
    assert "\x07" not in _ESCAPE.sub(b"", out).decode("utf-8", "replace"), "a bare BEL got through"
    # The hostile text is on screen, made visible, and its markup is text.
    assert "\\e]52;c;SGFja2Vk\\x07x" in text
    assert "[bold red]MARKUP[/]" in text
    assert "\\u202e" in text
    assert "target \\e]52;c;AAAA\\x07\\e[2J" in text  # in the out-of-lane alert's summary
    assert "hostile-\\e]0;pwned\\x07.jsonl@0" in text  # the file name, from the raw-line view
