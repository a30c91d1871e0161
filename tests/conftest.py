"""Test isolation: no user config or data leaks in; every test gets its own store; and the
session leaves no process behind."""

from __future__ import annotations

import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.processes import MARKER, new_marker, under, wait_for_none
from thirdbook.store import Store


def pytest_sessionstart(session: pytest.Session) -> None:
    """Mark this session's environment: every process the tests start inherits it."""
    os.environ[MARKER] = new_marker()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if a process it started is still running once its tests are done.

    This process's own fork server and resource tracker are spared (they exit with it, once
    no worker holds them); a program run inside tmux ends with its tmux session.
    """
    helpers = {
        os.getpid(),
        multiprocessing.forkserver._forkserver._forkserver_pid,
        multiprocessing.resource_tracker._resource_tracker._pid,
    }
    left = wait_for_none(
        os.environ[MARKER], besides=helpers, spare=lambda pid: under(pid, "tmux: server")
    )
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["processes started by the tests outlived them:"]
    lines += [f"  pid {pid}: {command}" for pid, command in sorted(left.items())]
    if reporter is not None:
        reporter.ensure_newline()
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point config and data at the test's own folder; no colour surprises."""
    monkeypatch.setenv("THIRDBOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("THIRDBOOK_CONFIG", str(tmp_path / "thirdbook.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")  # not the Linux console's ASCII glyphs
    yield


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store in the test's folder."""
    opened = await Store.open(tmp_path / "store" / "thirdbook.db")
    try:
        yield opened
    finally:
        await opened.close()
