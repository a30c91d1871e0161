"""`thirdbook serve` in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser), against the real server process over a store with an open incident.

The page loads with the token the server printed; the start page's button starts the
console; its incident banner shows in the xterm.js terminal; 1–5 change the panel; a
screenshot is not blank; a request without the token is refused; in a read-only session a
containment key is refused with the sentence that says so, and with --allow-actions a note
is recorded with the origin "browser from 127.0.0.1:PORT".

The terminal draws on a canvas, so its text is read from xterm.js's own buffer: an init
script keeps every object that sets `_core` (xterm's `Terminal` does, in its constructor)
and the test asks the one with a `buffer` for its rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import event_line, ingest_once, source
from tests.png_pixels import colour_counts
from thirdbook.domain.alerts import Firing
from thirdbook.services.factory import build_services
from thirdbook.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CEILING_S = 90.0
"""The longest any condition is waited for (a console starts slowly on a loaded machine)."""

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

_missing = (
    "Debian's chromium is not installed (apt-get install chromium)"
    if not CHROMIUM.exists()
    else "playwright is not installed (pip install -e '.[dev]')"
    if sync_playwright is None
    else None
)
if _missing is not None and os.environ.get("CI"):
    pytest.fail(f"the browser test cannot run in CI: {_missing}", pytrace=False)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_missing is not None, reason=_missing or ""),
]

KEEP_TERMINALS = """(() => {
  const seen = [];
  window.__terminals = seen;
  Object.defineProperty(Object.prototype, "_core", {
    configurable: true,
    set(value) {
      Object.defineProperty(this, "_core", {value, writable: true, configurable: true});
      seen.push(this);
    },
  });
})();"""
READ_ROWS = """() => {
  const term = (window.__terminals || []).find((o) => {
    try { return typeof o.buffer.active.getLine === "function"; } catch (e) { return false; }
  });
  if (!term) return "";
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""
PANELS = {"2": "Incident", "3": "Runbook", "4": "Timeline", "5": "Action items", "1": "Live"}
"""Each panel key, in the order pressed, and how the panel it shows is titled."""


async def _estate(base: Path) -> tuple[Path, Path]:
    """A store with events, a drift alert and an open incident declared from it."""
    data, log = base / "data", base / "logs" / "serving.jsonl"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"".join(event_line(i) for i in range(40)))
    store = await Store.open(data / "thirdbook.db")
    await ingest_once(store, source(log))
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(1,),
            at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            summary="accuracy drift",
        )
    )
    await build_services(store).triage.declare(
        [alert.id], title="drift on credit-scorer", severity="SEV2", blast_radius="medium"
    )
    await store.close()
    config = base / "thirdbook.toml"
    config.write_text("")
    return data, config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened within {CEILING_S:.0f} s: {what}")


class Served:
    """A running `thirdbook serve`, its output gathered as it comes."""

    def __init__(self, data: Path, config: Path, *args: str, env: dict[str, str]) -> None:
        self.data, self.config, self.port = data, config, _free_port()
        command = [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(data)]
        command += ["--config", str(config), "serve", "--port", str(self.port), *args]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "COLUMNS": "200", **env},
        )
        self.lines: list[str] = []
        threading.Thread(target=self._gather, daemon=True).start()

    def _gather(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def address(self) -> str:
        """The address with the token, as the server printed it."""
        pattern = rf"open (http://127\.0\.0\.1:{self.port}/\?token=\S+)"
        found = _until(lambda: re.search(pattern, self.output), f"the address in {self.output}")
        return str(found.group(1))

    def timeline(self) -> list[dict[str, Any]]:
        where = ["--data-dir", str(self.data), "--config", str(self.config)]
        done = subprocess.run(
            [sys.executable, "-m", "thirdbook.cli", "timeline", "1", "--json", *where],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def estate(tmp_path: Path) -> tuple[Path, Path]:
    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _estate(tmp_path)).result()


def _screen(page: Page) -> str:
    return str(page.evaluate(READ_ROWS))


def _wait_for_text(page: Page, text: str) -> str:
    def shown() -> str:
        screen = _screen(page)
        return screen if text in screen else ""

    return str(_until(shown, f"{text!r} on screen"))


def _panel_title(screen: str) -> str:
    """The line below the panel tabs (a console narrower than 120 columns shows one panel)."""
    lines = screen.splitlines()
    for at, line in enumerate(lines[:-1]):
        if "1 Live" in line and "5 Actions" in line:
            return lines[at + 1].strip()
    return ""  # mid-redraw: asked again


def _open_console(chromium: Any, address: str) -> Page:
    """Load the page with the token, press Start, and wait for the incident banner."""
    page: Page = chromium.new_page(viewport={"width": 1000, "height": 760})
    page.add_init_script(KEEP_TERMINALS)
    page.goto(f"{address}&delay=1")
    assert "token=" not in page.url  # swapped for a cookie, out of the address bar
    page.click("#start")
    _wait_for_text(page, "INCIDENT #1 SEV2")
    page.focus(".xterm-helper-textarea")
    return page


def _refused_without_token(port: int) -> tuple[int, str]:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
    raise AssertionError("a request without the token was answered")


def test_a_read_only_browser_session_shows_the_incident_and_refuses_to_act(
    chromium: Any, estate: tuple[Path, Path]
) -> None:
    served = Served(*estate, env={})
    try:
        address = served.address()
        status, said = _refused_without_token(served.port)
        assert status == 401 and "needs its token" in said
        page = _open_console(chromium, address)
        assert "drift on credit-scorer" in _screen(page)
        _wait_for_text(page, "This browser session is read-only")  # the banner says so
        for key, title in PANELS.items():
            before = _screen(page)
            page.keyboard.press(key)
            _until(lambda t=title: _panel_title(_screen(page)).startswith(t), f"{key}: {title}")
            assert _screen(page) != before, key
        counts = colour_counts(page.screenshot())
        assert len(counts) >= 16, f"{len(counts)} colours: a blank screenshot"
        assert counts.most_common(1)[0][1] < 0.95 * sum(counts.values())
        page.keyboard.press("Control+l")
        page.keyboard.press("s")  # snapshot the incident's evidence: a write
        _wait_for_text(page, "Refused: this browser session is read-only")
        page.keyboard.press("q")  # the console quits; the page offers to start another
        page.wait_for_selector("body.-closed", timeout=CEILING_S * 1000)
        page.close()
        _until(lambda: "ended (0 open)" in served.output, "the session's console to quit")
        assert [e["kind"] for e in served.timeline()] == ["declared", "alert"]
    finally:
        code = served.stop()
    assert code == 0, served.output
    assert "Traceback" not in served.output


def test_with_allow_actions_a_note_from_the_browser_is_the_serving_users_from_the_browser(
    chromium: Any, estate: tuple[Path, Path]
) -> None:
    token = "a-token-given-in-the-environment-1"
    served = Served(*estate, "--allow-actions", env={"THIRDBOOK_SERVE_TOKEN": token})
    try:
        assert served.address().endswith("?token=THE-TOKEN-YOU-GAVE")  # never printed
        assert token not in served.output
        page = _open_console(chromium, f"http://127.0.0.1:{served.port}/?token={token}")
        page.keyboard.press("n")
        _wait_for_text(page, "Note on incident #1")
        page.keyboard.type("seen from the browser")
        page.keyboard.press("Enter")
        _wait_for_text(page, "Noted on incident #1")
        page.close()
        _until(lambda: "ended (0 open)" in served.output, "the session's console to quit")
        notes = [e for e in served.timeline() if e["kind"] == "note"]
    finally:
        code = served.stop()
    assert code == 0, served.output
    assert len(notes) == 1 and "seen from the browser" in notes[0]["detail"]
    assert notes[0]["actor"]["uid"] == os.getuid()
    assert re.fullmatch(r"browser from 127\.0\.0\.1:\d+", notes[0]["actor"]["origin"])
