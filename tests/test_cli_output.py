"""What the list commands print where a script reads them: piped, one record a line with every
value whole; `--json` everywhere; the store options after the command too; and a read on a
store that does not exist says so and makes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.helpers import event_line
from tests.read_only_media import THIRDBOOK, Pty
from tests.read_paths import READ_COMMANDS, read_everything, strict_json
from tests.test_hostile_values import HOSTILE
from tests.test_rollback import registry_file
from thirdbook.cli import main

LONG_SUBJECT = "applicant-" + "7" * 150 + "-end"
LONG_REQUEST = "req-" + "r" * 120 + "-end"
LONG_TITLE = "drift on credit-scorer " + "after the Tuesday deploy " * 14 + "(title ends)"
LONG_ITEM = "retrain on the audited data only " * 5 + "(end)"
CONFIG = """
[containment]
registry = "{registry}"

[[triggers.drift]]
name = "acc band"
model = "credit-scorer"
metric = "acc"
low = 0.5
high = 1.0
consecutive = 1
"""


@dataclass(frozen=True)
class Estate:
    """A store made through the command line: events with a long subject and request id, a
    reject, a drift alert, an incident with a long title, an action item, registry moves."""

    data: Path
    config: Path

    def run(self, *args: str, width: int = 80) -> Result:
        """A command on this estate (options before the command), output not a terminal."""
        options = ["--data-dir", str(self.data), "--config", str(self.config)]
        return CliRunner().invoke(main, [*options, *args], env={"COLUMNS": str(width)})


def _lines(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps({"v": 1, **r}).encode() + b"\n" for r in records)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    base = tmp_path_factory.mktemp("estate")
    config = base / "thirdbook.toml"
    config.write_text(CONFIG.format(registry=registry_file(base)))
    made = Estate(base / "data", config)
    model = {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:77"}
    log = base / "serving.jsonl"
    log.write_bytes(
        _lines(
            *(
                {
                    "kind": "inference",
                    "ts": f"2026-11-27T10:00:0{n}+00:00",
                    "request_id": LONG_REQUEST if n == 1 else f"req-{n}",
                    "subject": LONG_SUBJECT if n == 1 else f"applicant-{n}",
                    "model": model,
                }
                for n in range(3)
            ),
            {"kind": "metric", "ts": "2026-11-27T10:00:05+00:00", "model": model}
            | {"metric": "acc", "value": 0.1},
        )
        + b"not json at all\n"
    )
    for args in (
        ("ingest", "--once", str(log)),
        ("declare", "1", "--title", LONG_TITLE, "--severity", "SEV2", "--blast-radius", "medium"),
        (
            "action-items",
            "add",
            "1",
            "--title",
            LONG_ITEM,
            "--owner",
            "alice",
            "--due",
            "2020-01-01",
        ),
        ("phase", "1", "contained"),
        ("registry", "history"),
    ):
        done = made.run(*args)
        assert done.exit_code == 0, f"{args}: {done.output}"
    return made


def test_piped_lists_keep_every_value_whole_on_one_line(estate: Estate) -> None:
    # CliRunner's stdout is not a terminal, and the window is 80 columns: nothing may wrap.
    for args, value, same_line in (
        (["events"], LONG_SUBJECT, LONG_REQUEST),
        (["incidents"], LONG_TITLE, "SEV2"),
        (["timeline", "1"], LONG_TITLE, "declared"),
        (["action-items"], LONG_ITEM, "OVERDUE"),
        (["audit"], LONG_ITEM, "action"),
    ):
        done = estate.run(*args)
        assert done.exit_code == 0, done.output
        [line] = [x for x in done.stdout.splitlines() if value in x]
        assert same_line in line, f"{args}: the record is not on one line: {done.stdout}"
        assert "…(+" not in done.stdout  # and nothing is cut
    found = estate.run("events", "--subject", LONG_SUBJECT).stdout.splitlines()
    assert len(found) == 2 and found[0].split()[:3] == ["id", "time", "(UTC)"]
    assert found[1].split()[0] == "2" and found[1].endswith(LONG_SUBJECT)


def test_a_real_pipe_into_grep_finds_a_long_subject(estate: Estate) -> None:
    env = {**os.environ, "COLUMNS": "40"}
    options = ["--data-dir", str(estate.data), "--config", str(estate.config)]
    with subprocess.Popen(
        [*THIRDBOOK, *options, "events", "--subject", LONG_SUBJECT],
        stdout=subprocess.PIPE,
        env=env,
    ) as listing:
        grep = subprocess.run(
            ["grep", "-F", "--", LONG_SUBJECT],
            stdin=listing.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert listing.returncode == 0
    [line] = grep.stdout.splitlines()
    assert LONG_REQUEST in line and "credit-scorer v7" in line


def _on_a_terminal(estate: Estate, *args: str) -> str:
    options = ["--data-dir", str(estate.data), "--config", str(estate.config)]
    terminal = Pty([*THIRDBOOK, *options, *args], dict(os.environ), size=(80, 24))
    try:
        assert terminal.exit_code() == 0
    finally:
        terminal.close()
    return terminal.output.decode()


def test_a_terminal_still_gets_a_table_that_fits_its_width(estate: Estate) -> None:
    shown = _on_a_terminal(estate, "events")
    assert "\x1b[1m" in shown  # the bold heading of today's table
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert all(len(line) <= 80 for line in plain.splitlines())
    assert LONG_SUBJECT not in plain and "…(+" in plain  # cut to fit, and saying so


def test_timeline_full_shows_every_detail_whole_on_a_terminal(estate: Estate) -> None:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", _on_a_terminal(estate, "timeline", "1"))
    assert "…(+" in plain and "(title ends)" not in plain  # cut at 300 characters
    plain = re.sub(r"\x1b\[[0-9;]*m", "", _on_a_terminal(estate, "timeline", "1", "--full"))
    assert "…(+" not in plain and "(title ends)" in plain  # folded over lines, whole


def _json_lines(done: Result) -> list[dict[str, object]]:
    assert done.exit_code == 0, done.output
    assert done.stdout_bytes.isascii()
    return [strict_json(line) for line in done.stdout.splitlines()]


def test_every_list_command_gives_json_with_ids_times_and_kinds(estate: Estate) -> None:
    needs: dict[tuple[str, ...], set[str]] = {
        ("events",): {"id", "source", "path", "offset", "event"},
        ("rejects",): {"id", "path", "offset", "reason", "raw", "ingested"},
        ("alerts",): {"id", "rule", "kind", "status", "first_at", "last_at", "summary"},
        ("incidents",): {"id", "title", "severity", "phase", "declared_at", "alert_ids"},
        ("timeline", "1"): {"id", "incident_id", "at", "actor", "kind", "detail"},
        ("action-items",): {"id", "incident_id", "title", "owner", "due", "status", "overdue"},
        ("audit",): {"seq", "hash", "prev_hash", "action", "outcome", "actor"},
        ("registry", "history"): {"at", "model", "alias", "from_version", "to_version", "how"},
        ("precision",): {"rule", "fired", "declared", "dismissed", "open", "precision"},
        ("runbooks",): {"name", "title", "triggers", "match", "steps"},
        ("status",): {"store", "events", "rejects", "lease", "gaps", "notes"},
    }
    found: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for args, keys in needs.items():
        records = _json_lines(estate.run(*args, "--json"))
        assert records, f"{args}: no records"
        for record in records:
            assert keys <= record.keys(), f"{args}: lacks {keys - record.keys()}"
        found[args] = records
    assert found[("incidents",)][0]["title"] == LONG_TITLE
    assert [e["kind"] for e in found[("timeline", "1")]][:1] == ["declared"]
    assert found[("action-items",)][0]["overdue"] is True
    assert found[("alerts",)][0]["kind"] == "drift"
    assert found[("precision",)][0] == {
        "rule": "acc band",
        "fired": 1,
        "declared": 1,
        "dismissed": 0,
        "open": 0,
        "precision": 1.0,
    }
    assert [m["how"] for m in found[("registry", "history")]] == ["first seen"]
    assert found[("status",)][0]["events"] == 4 and found[("status",)][0]["rejects"] == 1
    assert {b["name"] for b in found[("runbooks",)]} >= {"drift", "general"}


def test_the_store_options_mean_the_same_after_the_command(estate: Estate) -> None:
    data, config = str(estate.data), str(estate.config)
    runner = CliRunner()
    before = runner.invoke(main, ["--data-dir", data, "--config", config, "alerts", "--json"])
    after = runner.invoke(main, ["alerts", "--json", "--data-dir", data, "--config", config])
    assert after.exit_code == 0 and after.stdout == before.stdout and after.stdout
    # Nested commands take them too; after the command wins over before it (and the
    # environment, which points at this test's own empty folder).
    nested = ["registry", "history", "--json", "--data-dir", data, "--config", config]
    moves = runner.invoke(main, ["--data-dir", "/nowhere", *nested])
    assert moves.exit_code == 0 and json.loads(moves.stdout)["how"] == "first seen"
    demo_after = runner.invoke(main, ["status", "--data-dir", data, "--demo"])
    demo_before = runner.invoke(main, ["--demo", "--data-dir", data, "status"])
    assert demo_after.exit_code == demo_before.exit_code == 1
    assert demo_after.output == demo_before.output
    assert f"no store at {estate.data / 'demo' / 'thirdbook.db'}" in demo_after.output
    assert "may also follow the command" in runner.invoke(main, ["--help"]).output
    assert "--demo" in runner.invoke(main, ["events", "--help"]).output


MORE_READS: tuple[tuple[str, ...], ...] = (
    ("timeline", "1"),
    ("timeline", "1", "--json"),
    ("runbook", "1"),
    ("checkpoint",),
    ("verify",),
    ("quarantine", "check", "some-dataset"),
    ("kill-switch", "1", "--mode", "human", "--dry-run"),
    ("events", "--reveal-secrets", "looking for the leak"),
    ("console", "--read-only"),
)


def test_a_read_on_a_missing_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "absent"
    runner = CliRunner()
    for args in (*READ_COMMANDS, *MORE_READS):
        done = runner.invoke(main, ["--data-dir", str(data), *args])
        assert done.exit_code == 1, f"{args}: {done.output}"
        assert done.stdout == "", f"{args}: {done.stdout}"
        assert done.stderr == (
            f"Error: no store at {data / 'thirdbook.db'}: run `thirdbook ingest` or "
            "`thirdbook watch` first\n"
        ), args
        assert not data.exists(), f"{args} left {sorted(data.rglob('*'))}"
    done = runner.invoke(main, ["events", "--demo", "--data-dir", str(data)])
    assert done.exit_code == 1 and "run `thirdbook demo` first" in done.output
    assert not data.exists()
    # A write makes the store, as it always has; then the read reads it.
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    assert (
        runner.invoke(main, ["--data-dir", str(data), "ingest", "--once", str(log)]).exit_code == 0
    )
    done = runner.invoke(main, ["--data-dir", str(data), "events"])
    assert done.exit_code == 0 and done.stdout == "" and "no events match" in done.stderr


def test_hostile_text_typed_into_an_incident_reaches_no_list_raw(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "thirdbook.toml").write_text(CONFIG.format(registry=registry_file(tmp_path)))
    model = {"name": "credit-scorer", "version": "v7"}
    log = tmp_path / "serving.jsonl"
    log.write_bytes(
        _lines(
            {"kind": "metric", "ts": "2026-11-27T10:00:05+00:00", "model": model}
            | {"metric": "acc", "value": 0.1}
        )
    )
    runner = CliRunner()
    for args in (
        ("ingest", "--once", str(log)),
        ("declare", "1", "--title", HOSTILE, "--severity", "SEV2", "--blast-radius", "high"),
        ("action-items", "add", "1", "--title", HOSTILE, "--owner", "bob", "--due", "2030-01-01"),
        ("action-items", "close", "1", "--resolution", HOSTILE),
    ):
        done = runner.invoke(main, ["--data-dir", str(data), *args])
        assert done.exit_code == 0, f"{args}: {done.output}"
    outputs = read_everything(data)  # every list, its --json, and each incident's timeline
    [incident] = map(strict_json, outputs["incidents --json --limit 10000"].splitlines())
    assert incident["title"] == HOSTILE  # escaped in the JSON, not lost
    assert "timeline 1 --json" in outputs and "\\e]52" in outputs["timeline 1 --full"]
    [item] = map(strict_json, outputs["action-items --json"].splitlines())
    assert item["resolution"] == HOSTILE and item["overdue"] is False


def test_ingest_reads_the_format_it_is_told_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(event_line(1))
    options = ["--data-dir", str(tmp_path / "data"), "--config", str(tmp_path / "none.toml")]
    refused = CliRunner().invoke(main, [*options, "ingest", "--once", "--format", "otlp", str(log)])
    assert refused.exit_code == 2 and "'otlp' is not a known format (thirdbook" in refused.output
    assert not (tmp_path / "data").exists()  # refused before the store is made
    done = CliRunner().invoke(
        main, [*options, "ingest", "--once", "--format", "thirdbook", str(log)]
    )
    assert done.exit_code == 0, done.output
    assert "1 events, 0 rejects" in done.output
