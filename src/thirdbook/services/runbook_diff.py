"""What the incident taught the runbook: the runbook as it was when the incident was declared
against the file now (a unified diff), and, where the runbooks folder is a git repository,
the commits to the file since the declaration."""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

GIT_TIMEOUT_S = 5.0
"""A git log that takes longer than this is left out (said so), never waited on."""

MOST_DIFF_LINES = 400
"""A diff longer than this is cut, saying how many lines were left out."""


@dataclass(frozen=True)
class RunbookCommit:
    """One commit to the runbook's file."""

    sha: str
    at: str
    author: str
    subject: str


@dataclass(frozen=True)
class RunbookDiff:
    """The runbook's change over the incident."""

    name: str
    path: str
    declared_at: datetime | None
    """When the declared copy was kept; None when the store has none (declared before
    thirdbook kept copies, or without a runbook file)."""
    diff: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    commits: list[RunbookCommit] = field(default_factory=list)
    git_note: str = ""
    """Why no commits are listed, where git could not say."""

    @property
    def changed(self) -> bool:
        """Whether the file differs from the declared copy, or has commits since."""
        return bool(self.added or self.removed or self.commits)


def sha256_text(text: str) -> str:
    """The text's SHA-256, as the timeline names a runbook's version."""
    return hashlib.sha256(text.encode()).hexdigest()


def diff_lines(before: str, after: str, name: str) -> tuple[list[str], int, int]:
    """A unified diff of two versions, and how many lines it adds and removes."""
    lines = list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            f"{name}.md (declared)",
            f"{name}.md (now)",
            lineterm="",
        )
    )
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
    if len(lines) > MOST_DIFF_LINES:
        left = len(lines) - MOST_DIFF_LINES
        lines = [*lines[:MOST_DIFF_LINES], f"... {left} more diff lines"]
    return lines, added, removed


def git_commits(path: Path, since: datetime) -> tuple[list[RunbookCommit], str]:
    """The commits to `path` since `since`, where its folder is a git repository; else no
    commits and the reason ("" when the folder simply is not a repository)."""
    folder = path.parent
    if not folder.is_dir():
        return [], ""
    try:
        inside = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return [], ""
        log = subprocess.run(
            [
                "git",
                "-C",
                str(folder),
                "log",
                f"--since={since.isoformat()}",
                "--format=%h%x09%aI%x09%an%x09%s",
                "--",
                path.name,
            ],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return [], "git is not installed: commits not listed"
    except OSError as exc:
        return [], f"git could not run ({exc.strerror or exc}): commits not listed"
    except subprocess.TimeoutExpired:
        return [], f"git log took over {GIT_TIMEOUT_S:.0f} s: commits not listed"
    if log.returncode != 0:
        return [], f"git log failed: {log.stderr.strip()[:200]}"
    commits = []
    for line in log.stdout.splitlines():
        parts = line.split("\t", 3)
        if len(parts) == 4:
            commits.append(RunbookCommit(*parts))
    return commits, ""


def runbook_diff(
    name: str,
    now: tuple[str, str] | None,
    declared: tuple[str, str, str, datetime] | None,
) -> RunbookDiff:
    """The diff between the declared copy (name, path, text, when) and the file now (path,
    text); git's commits since the declaration where the folder is a repository."""
    if declared is None:
        return RunbookDiff(name=name, path="" if now is None else now[0], declared_at=None)
    path, text = now if now is not None else (declared[1], "")
    lines, added, removed = diff_lines(declared[2], text, name)
    commits, note = git_commits(Path(path), declared[3])
    return RunbookDiff(
        name=name,
        path=path,
        declared_at=declared[3],
        diff=lines,
        added=added,
        removed=removed,
        commits=commits,
        git_note=note,
    )
