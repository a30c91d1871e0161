"""Terminals that cannot show everything: `NO_COLOR=1` sends no colour at all (bold, reverse
and underline stay), and `TERM=linux` (the Linux console, whose font lacks them) gets ASCII
for `✕ ● ⭘ ▔ ▁` and the drift chart.

The real program runs on a pseudo-terminal at 80x24 over the demo estate (its drift alert
already fired, so the chart shows); keys open the dialogs with inputs, lists and buttons;
every byte it writes is read back.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from thirdbook.tui.glyphs import ASCII_GLYPHS

pytestmark = pytest.mark.e2e

THIRDBOOK = str(Path(sys.executable).with_name("thirdbook"))
_ESCAPE = re.compile(rb"\x1b(\[[0-9;:?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|.)", re.S)
_SGR = re.compile(rb"\x1b\[([0-9;:]*)m")


class PtyConsole:
    """The real program on a pseudo-terminal: keys in, every byte out."""

    def __init__(self, argv: list[str], env: dict[str, str], width: int, height: int) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the real program
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        self.out = bytearray()

    def _read(self, seconds: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            with contextlib.suppress(OSError):
                self.out += os.read(self.fd, 1 << 16)

    def wait_for(self, text: str, timeout: float = 60.0, since: int = 0) -> bool:
        """Read until `text` has been drawn (escape sequences aside) after byte `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            if text in _ESCAPE.sub(b"", bytes(self.out[since:])).decode("utf-8", "replace"):
                return True
        return False

    def press(self, keys: bytes, then: str, tries: int = 1) -> None:
        """Type `keys` until `then` is drawn anew (`tries` times at most: a key typed while
        a dialog is still closing may go to the dialog)."""
        for _ in range(tries):
            since = len(self.out)
            os.write(self.fd, keys)
            if self.wait_for(then, timeout=60 / tries, since=since):
                return
        raise AssertionError(f"{then!r} was never drawn after {keys!r}")

    def settle(self, seconds: float) -> None:
        """Read for a while (a dialog closing, the program exiting)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(0.1)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def _play(tmp_path: Path, **env_changes: str) -> bytes:
    """Everything the console writes while the commander declares the drift incident and
    opens the phase list and the action item dialog."""
    env = dict(
        os.environ,
        TERM="xterm-256color",
        THIRDBOOK_DATA_DIR=str(tmp_path / "data"),
        THIRDBOOK_CONFIG=str(tmp_path / "thirdbook.toml"),
    )
    env.pop("NO_COLOR", None)
    env.update(env_changes)
    subprocess.run(  # 100 demo seconds: v7 deployed and drifting, its alert fired
        [THIRDBOOK, "demo", "--headless", "--duration", "5", "--speed", "20"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    console = PtyConsole([THIRDBOOK, "demo", "--keep", "--speed", "1"], env, 80, 24)
    try:
        assert console.wait_for("windows"), "the drift chart was never drawn"  # its title
        console.press(b"d", "Declare an incident from alert")
        console.press(b"\r", "INCIDENT #1")
        console.press(b"p", "Phase of incident #1")
        os.write(console.fd, b"\x1b")
        console.settle(1.0)
        console.press(b"i", "New action item for incident #1", tries=4)
        os.write(console.fd, b"\x1b")
        console.settle(1.0)
        os.write(console.fd, b"q")
        console.settle(3.0)
        return bytes(console.out)
    finally:
        console.close()


def _sgr_parameters(out: bytes) -> Iterator[int]:
    for match in _SGR.finditer(out):
        for part in re.split(rb"[;:]", match.group(1)):
            yield int(part or b"0")


def _is_colour(parameter: int) -> bool:
    return 30 <= parameter <= 38 or 40 <= parameter <= 48 or 90 <= parameter <= 107


def test_no_color_sends_no_colour_at_all(tmp_path: Path) -> None:
    out = _play(tmp_path, NO_COLOR="1")
    parameters = list(_sgr_parameters(out))
    colours = sorted({p for p in parameters if _is_colour(p)})
    assert not colours, f"colour SGR parameters sent under NO_COLOR: {colours}"
    assert 7 in parameters and 1 in parameters  # reverse video and bold carry the meaning
    # The chart says its verdict on the latest window in words (the demo's windows cross
    # the band, so which word depends on the moment).
    text = out.decode("utf-8", "replace")
    assert "OUTSIDE" in text or "inside" in text


def test_the_linux_console_gets_ascii(tmp_path: Path) -> None:
    out = _play(tmp_path, TERM="linux")
    text = _ESCAPE.sub(b"", out).decode("utf-8", "replace")
    drawn = sorted({c for c in text if c in ASCII_GLYPHS})
    assert not drawn, f"glyphs the Linux console cannot draw were sent: {drawn}"
    for glyph in "✕●⭘▔▁":
        assert glyph not in text
    # The drift chart in ASCII: a value label, the axis, then points and the band's edge.
    assert re.search(r"\d\|[-ox ]*x", text), "no ASCII chart row with a point outside the band"
    # (The band's row may begin with points on it: at 80x24 the chart has two plot rows.)
    assert re.search(r"\d\|[-ox ]*--", text), "no ASCII band edge"
    assert any(_is_colour(p) for p in _sgr_parameters(out))  # colour itself is still sent
