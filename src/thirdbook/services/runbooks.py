"""The runbook library: shipped runbooks, overridden by one's own, reloaded after an edit."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from thirdbook.domain.runbooks import (
    AlertFacts,
    Runbook,
    RunbookChoice,
    RunbookError,
    choose_for,
    parse_runbook,
)


class RunbookLibrary:
    """Runbooks from several directories; the first directory that has a name wins.

    The first directory is the user's own: editing a shipped runbook copies it there first,
    so the shipped file is never changed and the edit survives upgrades.
    """

    def __init__(self, user_dir: Path, shipped_dir: Path) -> None:
        self.user_dir = user_dir
        self.shipped_dir = shipped_dir
        self._runbooks: dict[str, Runbook] = {}
        self._paths: dict[str, Path] = {}
        self.problems: list[str] = []
        self.reload()

    def reload(self) -> None:
        """Read every `*.md` again; a bad file is reported in `problems` and skipped."""
        runbooks: dict[str, Runbook] = {}
        paths: dict[str, Path] = {}
        problems: list[str] = []
        for directory in (self.user_dir, self.shipped_dir):
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.md")):
                if path.stem in runbooks:
                    continue
                try:
                    text = path.read_text(encoding="utf-8")
                    runbooks[path.stem] = parse_runbook(text, path.stem, str(path))
                    paths[path.stem] = path
                except (OSError, UnicodeDecodeError) as exc:
                    problems.append(f"{path}: cannot read: {exc}")
                except RunbookError as exc:
                    problems.append(str(exc))
        self._runbooks, self._paths, self.problems = runbooks, paths, problems

    @property
    def runbooks(self) -> list[Runbook]:
        """Every usable runbook, by name."""
        return [self._runbooks[name] for name in sorted(self._runbooks)]

    def get(self, name: str | None) -> Runbook | None:
        """A runbook by name, if it exists and parses."""
        return None if name is None else self._runbooks.get(name)

    def choose(self, alerts: Sequence[AlertFacts | str]) -> Runbook | None:
        """The runbook for an incident with these alerts, first alert first (a string is an
        alert known only by its kind); see `choose_for`."""
        choice = self.choice(alerts)
        return None if choice is None else choice.runbook

    def choice(self, alerts: Sequence[AlertFacts | str]) -> RunbookChoice | None:
        """The runbook for these alerts and why it was chosen (see `choose_for`)."""
        # The general runbook is the fallback, so specific ones are looked at first.
        ordered = sorted(self.runbooks, key=lambda r: (r.general, r.name))
        return choose_for(ordered, alerts)

    def path_of(self, name: str) -> Path | None:
        """The file a runbook was read from."""
        return self._paths.get(name)

    def text_of(self, name: str) -> tuple[str, str] | None:
        """A runbook's file and its text as they are now (one's own copy first, even while
        it does not parse: an edit that broke it is still an edit); None if unreadable."""
        own = self.user_dir / f"{name}.md"
        path = own if own.is_file() else self._paths.get(name)
        if path is None:
            return None
        try:
            return str(path), path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def editable_path(self, name: str) -> Path:
        """The file to edit for a runbook: one's own copy, made from the shipped one if needed."""
        own = self.user_dir / f"{name}.md"
        if own.exists():
            return own
        source = self._paths.get(name)
        if source is None:
            source = self.shipped_dir / f"{name}.md"
        own.parent.mkdir(parents=True, exist_ok=True)
        if source.exists():
            shutil.copyfile(source, own)
        return own
