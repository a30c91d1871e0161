"""Quarantine: recorded with hashes, files made read-only, and `check` refuses them."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

from click.testing import CliRunner

from tests.test_evidence import _incident_with_log
from thirdbook.cli import main


def test_quarantine_add_then_check_refuses_the_path_its_copy_and_its_directory(
    tmp_path: Path,
) -> None:
    asyncio.run(_incident_with_log(tmp_path))
    data = tmp_path / "finetune"
    data.mkdir()
    (data / "batch-1.jsonl").write_text('{"prompt": "x"}\n')
    other = tmp_path / "clean.jsonl"
    other.write_text('{"prompt": "y"}\n')
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data"), "--config", str(tmp_path / "none.toml")]
    refused = runner.invoke(main, [*args, "quarantine", "add", "1", str(data)])
    assert refused.exit_code == 1 and "snapshot first" in refused.output
    added = runner.invoke(
        main,
        [
            *args,
            "quarantine",
            "add",
            "1",
            str(data),
            "run-2026-11-27",
            "--override",
            "retrain starts in an hour",
        ],
    )
    assert added.exit_code == 0, added.output
    batch = data / "batch-1.jsonl"
    assert not stat.S_IMODE(batch.stat().st_mode) & 0o222  # made read-only
    for target in (str(batch), str(data), "run-2026-11-27"):
        check = runner.invoke(main, [*args, "quarantine", "check", target])
        assert check.exit_code == 1 and "QUARANTINED by incident #1" in check.output, target
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(batch.read_bytes())  # the same content under another name
    assert runner.invoke(main, [*args, "quarantine", "check", str(copy)]).exit_code == 1
    clean = runner.invoke(main, [*args, "quarantine", "check", str(other)])
    assert clean.exit_code == 0 and "not quarantined" in clean.output
    listed = json.loads((tmp_path / "data" / "quarantine.json").read_text())["quarantined"]
    assert {e["target"] for e in listed} >= {str(batch.resolve()), "run-2026-11-27"}
    timeline = runner.invoke(main, [*args, "timeline", "1"]).output
    assert "deviation" in timeline and "quarantine:" in timeline
