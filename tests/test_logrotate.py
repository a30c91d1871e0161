"""RELIABILITY A16: the real `logrotate`, every mode, both globs, the ingester SIGKILLed at
random points: every line still on disk is stored once, none twice.

What logrotate itself destroys before anyone can read it (lines written between its copy
and its truncate with `copytruncate`, a line its copy ended inside of, or lines written to a
rotation after `compress` deleted it while ingest was down) is counted apart and printed; no
reader can have those lines.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.logrotate_drill import HEADER, MODES, ids_on_disk, line, run_drill

needs_logrotate = pytest.mark.skipif(
    shutil.which("logrotate") is None and not os.environ.get("CI"),
    reason="logrotate is not installed (.ci/run installs it; apt-get install logrotate)",
)


@pytest.mark.slow
@needs_logrotate
@pytest.mark.parametrize("glob", ["narrow", "wide"])
@pytest.mark.parametrize("mode", list(MODES))
def test_real_logrotate_loses_and_repeats_nothing(
    mode: str, glob: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_drill(tmp_path, mode, glob, seconds=8.0, rate=2200, seed=len(mode) * 7)
    with capsys.disabled():
        print(f"\n{HEADER}\n{result.row()}")
    assert result.rotations >= 3, result.notes
    assert result.kills >= 2
    assert result.written >= 8 * 2000
    assert result.lost == 0, f"{result.lost} lines still on disk were never stored"
    assert result.duplicated == 0, f"{result.duplicated} lines were stored twice"


@pytest.mark.slow
@needs_logrotate
def test_copytruncate_with_its_copies_in_the_glob_repeats_nothing_without_kills(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The case where the copies, matched by a wide glob, were read again from byte 0 even
    # with the ingester never killed.
    result = run_drill(tmp_path, "copytruncate", "wide", seconds=8.0, rate=2200, kills=False)
    with capsys.disabled():
        print(f"\n{HEADER}\n{result.row()} (no kills)")
    assert result.rotations >= 3, result.notes
    assert result.kills == 0
    assert result.lost == 0 and result.duplicated == 0


def test_a_line_a_copy_ended_inside_of_is_not_counted_as_on_disk(tmp_path: Path) -> None:
    # logrotate's copy can end inside a line: its last read saw the file end at a page
    # boundary of the writer's write, and the truncate took the rest. Only a fragment of that
    # line is on disk (ingest keeps it as a reject): it is logrotate's window, not a loss.
    (tmp_path / "app.jsonl.1").write_bytes(line(0) + line(1) + line(2)[:100])
    (tmp_path / "app.jsonl").write_bytes(line(5) + line(6))
    assert ids_on_disk(tmp_path) == ({0, 1, 5, 6}, {2})
