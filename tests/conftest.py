"""Test isolation: no user config or data leaks in; every test gets its own store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from thirdbook.store import Store


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
