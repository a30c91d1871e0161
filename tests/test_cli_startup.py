"""Start-up: each command's module is imported only when that command runs, yet every command
is there by its name; `thirdbook explain` does not load the console, the ingester or replay's
HTTP client (the speed itself is measured in tests/bench/explain.py, not here)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

import thirdbook.cli
from thirdbook.cli import COMMAND_MODULES, main

NOT_FOR_EXPLAIN = (
    "textual",
    "rich",
    "httpx",
    "watchfiles",
    "detect_secrets",
    "thirdbook.tui",
    "thirdbook.ingest",
    "thirdbook.demo",
    "thirdbook.triggers",
    "thirdbook.forensics",
    "thirdbook.services.replay",
    "thirdbook.services.containment",
    "thirdbook.services.triage",
    "thirdbook.services.ingest",
)


def test_the_command_table_names_exactly_what_each_module_registers() -> None:
    modules = {
        m.name
        for m in pkgutil.iter_modules(thirdbook.cli.__path__)
        if m.name != "__main__"  # importing it runs the command line
        and any(
            name.startswith("register_")
            for name in vars(importlib.import_module(f"thirdbook.cli.{m.name}"))
        )
    }
    assert set(COMMAND_MODULES) == modules
    for module, (register, names) in COMMAND_MODULES.items():
        scratch = click.Group()
        getattr(importlib.import_module(f"thirdbook.cli.{module}"), register)(scratch)
        assert sorted(scratch.commands) == sorted(names), module


def test_help_lists_every_command_and_each_takes_the_options_after_it() -> None:
    result = CliRunner().invoke(main, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for _, names in COMMAND_MODULES.values():
        for name in names:
            assert f"\n  {name} " in result.output, name
    for name in ("explain", "quarantine", "action-items"):
        result = CliRunner().invoke(main, [name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "--data-dir" in result.output, name


def test_explain_imports_neither_the_console_nor_the_other_commands_stacks(
    tmp_path: Path,
) -> None:
    log = tmp_path / "serving.jsonl"
    record = {
        "v": 1,
        "kind": "inference",
        "ts": "2026-11-27T14:02:00+00:00",
        "request_id": "req-1",
        "model": {"name": "credit-scorer", "version": "v7"},
    }
    log.write_text(json.dumps(record) + "\n")
    data = tmp_path / "data"
    done = CliRunner().invoke(main, ["ingest", "--once", str(log), "--data-dir", str(data)])
    assert done.exit_code == 0, done.output
    probe = (
        "import json, sys\n"
        "from thirdbook.cli import main\n"
        f"main(['explain', 'req-1', '--data-dir', {str(data)!r}], standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert "req-1" in ran.stdout
    loaded = json.loads(ran.stderr.strip().splitlines()[-1])
    assert [m for m in loaded if m.startswith(NOT_FOR_EXPLAIN)] == []
