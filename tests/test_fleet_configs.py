"""The shipped fleet configs (src/thirdbook/fleet/) stay right without the binaries: each
parses, writes the line alone (no re-encoding), names one file per host in the directory
thirdbook watches, keeps checkpoints and acknowledgements on, and is the text the README shows.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.fleet_drill import FLEET
from tests.test_fleet_shipping import FLUENT_BIT, VECTOR
from thirdbook.config import IngestConfig

README = FLEET.parent.parent.parent / "README.md"
WATCHED = "/var/lib/thirdbook/fleet/*.jsonl"
"""The source glob the README configures thirdbook with on the bastion."""

MAX_LINE = IngestConfig().max_line_bytes


def _vector(name: str) -> dict[str, Any]:
    return tomllib.loads((FLEET / name).read_text(encoding="utf-8"))


def fluent_bit_sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """Fluent Bit's classic config as (section, {key: value}) pairs, keys lower-cased."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = re.fullmatch(r"\[([A-Z]+)\]", stripped)
        if header:
            sections.append((header.group(1), {}))
            continue
        assert sections and raw.startswith("    "), f"a key outside a section: {raw!r}"
        key, _, value = stripped.partition(" ")
        assert value.strip(), f"a key without a value: {raw!r}"
        sections[-1][1][key.lower()] = value.strip()
    return sections


def _fluent_bit(name: str) -> dict[str, list[dict[str, str]]]:
    by: dict[str, list[dict[str, str]]] = {}
    for section, keys in fluent_bit_sections((FLEET / name).read_text(encoding="utf-8")):
        by.setdefault(section, []).append(keys)
    return by


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmM]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1 << 20}[unit.lower()]


def test_vector_serving_host_reads_whole_lines_and_checkpoints_after_the_bastion_wrote() -> None:
    config = _vector("vector-serving.toml")
    assert config["data_dir"]  # where the file source keeps its checkpoints
    ((source_id, source),) = config["sources"].items()
    assert source["type"] == "file"
    assert source["include"] == ["/var/log/serving/*.jsonl"]
    assert source["read_from"] == "beginning"
    assert source["line_delimiter"] == "\n"  # a CRLF line keeps its \r
    assert source["max_line_bytes"] >= MAX_LINE  # Vector would drop what thirdbook rejects
    (sink,) = config["sinks"].values()
    assert sink["type"] == "vector" and sink["inputs"] == [source_id]
    assert sink["acknowledgements"]["enabled"] is True


def test_vector_bastion_writes_the_message_alone_one_file_per_host() -> None:
    config = _vector("vector-bastion.toml")
    ((source_id, source),) = config["sources"].items()
    assert source["type"] == "vector"
    (sink,) = config["sinks"].values()
    assert sink["type"] == "file" and sink["inputs"] == [source_id]
    # The line unchanged: `text` writes the message field alone, newline-framed; no field
    # list (only_fields/except_fields) and no other codec that would re-encode it.
    assert sink["encoding"] == {"codec": "text"}
    assert sink["framing"] == {"method": "newline_delimited"}
    assert sink["acknowledgements"]["enabled"] is True
    assert "transforms" not in config  # nothing rewrites the event on the way
    path = sink["path"]
    assert "{{ host }}" in path
    assert fnmatch.fnmatch(
        path.replace("{{ host }}", "web-1").replace("%Y-%m-%d", "2026-12-01"), WATCHED
    )
    # The serving hosts send to the port the bastion listens on.
    serving = _vector("vector-serving.toml")
    (out,) = serving["sinks"].values()
    assert out["address"].rsplit(":", 1)[1] == source["address"].rsplit(":", 1)[1]


def test_fluent_bit_serving_host_tails_whole_lines_with_offsets_and_acks() -> None:
    config = _fluent_bit("fluent-bit-serving.conf")
    (service,) = config["SERVICE"]
    (tail,) = config["INPUT"]
    (forward,) = config["OUTPUT"]
    assert tail["name"] == "tail" and tail["path"] == "/var/log/serving/*.jsonl"
    assert tail["tag"] == "${HOSTNAME}.jsonl"  # the file name on the bastion
    assert tail["key"] == "log"
    assert "parser" not in tail and "multiline.parser" not in tail  # the line, unparsed
    assert tail["db"] and tail["read_from_head"] == "true"
    assert _size(tail["buffer_max_size"]) >= MAX_LINE
    assert tail["skip_long_lines"] == "Off"
    assert tail["storage.type"] == "filesystem" and service["storage.path"]
    assert forward["name"] == "forward" and forward["match"] == "*"
    assert forward["require_ack_response"] == "true"
    assert "filter" not in {s.lower() for s in config}  # nothing rewrites the record


def test_fluent_bit_bastion_writes_the_log_key_alone_one_file_per_host() -> None:
    config = _fluent_bit("fluent-bit-bastion.conf")
    (forward,) = config["INPUT"]
    (out,) = config["OUTPUT"]
    assert forward["name"] == "forward"
    assert out["name"] == "file" and out["match"] == "*"
    # `template` with the log key alone writes the line's bytes as they came; `plain` would
    # write the record re-encoded as {"log":"..."}.
    assert out["format"] == "template" and out["template"] == "{log}"
    assert "file" not in out  # the tag, "<host>.jsonl", names the file
    assert fnmatch.fnmatch(f"{out['path']}/web-1.jsonl", WATCHED)
    serving = _fluent_bit("fluent-bit-serving.conf")
    assert serving["OUTPUT"][0]["port"] == forward["port"]


def test_the_fluent_bit_reader_refuses_what_fluent_bit_would_not_read() -> None:
    with pytest.raises(AssertionError, match="outside a section"):
        fluent_bit_sections("    Name tail\n")
    with pytest.raises(AssertionError, match="without a value"):
        fluent_bit_sections("[INPUT]\n    Name\n")


@pytest.mark.parametrize("name", sorted(p.name for p in FLEET.iterdir()))
def test_the_readme_shows_each_shipped_config_as_it_is(name: str) -> None:
    text = (FLEET / name).read_text(encoding="utf-8")
    assert text in README.read_text(encoding="utf-8"), f"README's copy of {name} differs"


@pytest.mark.skipif(VECTOR is None, reason="Vector is not installed here")
@pytest.mark.parametrize("name", ["vector-serving.toml", "vector-bastion.toml"])
def test_vector_itself_validates_the_shipped_configs(name: str) -> None:
    assert VECTOR is not None
    done = subprocess.run(
        [VECTOR, "validate", "--no-environment", str(FLEET / name)],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout.decode(errors="replace")


@pytest.mark.skipif(FLUENT_BIT is None, reason="Fluent Bit is not installed here")
@pytest.mark.parametrize("name", ["fluent-bit-serving.conf", "fluent-bit-bastion.conf"])
def test_fluent_bit_itself_accepts_the_shipped_configs(name: str, tmp_path: Path) -> None:
    assert FLUENT_BIT is not None
    done = subprocess.run(
        [FLUENT_BIT, "--dry-run", "-c", str(FLEET / name)],
        capture_output=True,
        timeout=120,
        env={"HOSTNAME": "web-1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout.decode(errors="replace")
