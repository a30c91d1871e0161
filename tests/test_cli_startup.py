"""Start-up: each command's module is imported only when that command runs, yet every command
is there by its name; `thirdbook --help` imports no command's module (nor pydantic, the store
or the console), and `thirdbook explain` does not load the console, the ingester or replay's
HTTP client (the speed itself is measured in tests/bench/startup.py and explain.py, not here)."""

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
from thirdbook.cli.command_help import SHORT_HELP

NOT_FOR_HELP = (
    "pydantic",
    "textual",
    "rich",
    "httpx",
    "aiosqlite",
    "sqlite3",
    "asyncio",
    "thirdbook.config",
    "thirdbook.services",
    "thirdbook.store",
    "thirdbook.tui",
)
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


def modules_after(args: list[str]) -> tuple[str, list[str]]:
    """What `thirdbook ARGS` prints, and every module it imported, run in a fresh Python."""
    probe = (
        "import json, sys\n"
        "from thirdbook.cli import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout, json.loads(ran.stderr.strip().splitlines()[-1])


def test_help_imports_no_command_module_nor_pydantic_the_store_or_the_console() -> None:
    shown, loaded = modules_after(["--help"])
    for _, names in COMMAND_MODULES.values():
        for name in names:
            assert f"\n  {name} " in shown, name
    assert [m for m in loaded if m.startswith(NOT_FOR_HELP)] == []
    assert [m for m in loaded if m.startswith("thirdbook.cli.") and m[14:] in COMMAND_MODULES] == []


def test_help_lists_each_command_with_the_one_line_help_the_command_itself_has() -> None:
    ctx = click.Context(main)
    for _, names in COMMAND_MODULES.values():
        for name in names:
            command = main.get_command(ctx, name)
            assert command is not None and not command.hidden, name
            assert name in SHORT_HELP, f"add {name!r} to thirdbook.cli.command_help.SHORT_HELP"
            listed = click.Command(name, help=SHORT_HELP[name])
            for width in (20, 45, 70, 120, 10_000):
                assert listed.get_short_help_str(width) == command.get_short_help_str(width), (
                    f"{name}: SHORT_HELP should be {command.get_short_help_str(10**6)!r}"
                )
    assert set(SHORT_HELP) <= {n for _, names in COMMAND_MODULES.values() for n in names}
