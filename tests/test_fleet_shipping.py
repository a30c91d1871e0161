"""The shipped fleet configs run by the real Vector or Fluent Bit: serving hosts ship their
logs to a bastion directory that `thirdbook ingest` follows, and every line is stored once,
byte for byte, through rotations (rename + new file) on the serving hosts (and, for Fluent
Bit, whose file output reopens its file on every flush, on the bastion too), a SIGKILL of
the ingester and a stop and start of each shipper.

Neither binary comes from the registries this project installs from (Debian's, PyPI, npm):
these tests skip, saying so, where the binary is absent, and fail where THIRDBOOK_VECTOR or
THIRDBOOK_FLUENT_BIT names one that does not run.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.fleet_drill import DrillResult, Host, Proc, free_port, real_binary, render, run_drill

VECTOR = real_binary("vector", "THIRDBOOK_VECTOR", "vector ")
FLUENT_BIT = real_binary(
    "fluent-bit", "THIRDBOOK_FLUENT_BIT", "Fluent Bit v", "/opt/fluent-bit/bin/fluent-bit"
)
_ABSENT = "is not installed here (no Debian, PyPI or npm package ships it; see README)"


def _assert_every_line_once(result: DrillResult, hosts: list[str]) -> None:
    assert len(result.written) >= 2400
    assert result.rejects == 0, "a line arrived changed (re-encoded or wrapped) and was rejected"
    assert len(result.raws) == len(result.written), (
        f"{len(result.raws)} stored for {len(result.written)} written"
    )
    assert len(set(result.request_ids)) == len(result.request_ids), "a line was stored twice"
    # Byte for byte (the store keeps a line without its newline): no quoting, escaping,
    # re-encoding or wrapping on the way.
    assert sorted(result.raws) == sorted(data.removesuffix(b"\n") for data in result.written)
    # One file per host (and its rotations), each holding that host's lines only.
    for name, lines in result.files.items():
        owner = [h for h in hosts if name.startswith(h)]
        assert len(owner) == 1, f"{name} is not one host's file"
        assert all(f'"request_id":"{owner[0]}-'.encode() in data for data in lines), name


@pytest.mark.slow
@pytest.mark.skipif(
    VECTOR is None and not os.environ.get("THIRDBOOK_VECTOR"), reason="Vector " + _ABSENT
)
def test_vector_ships_every_line_once_through_rotation(tmp_path: Path) -> None:
    assert VECTOR is not None, "THIRDBOOK_VECTOR does not name a working Vector"
    port, fleet = free_port(), tmp_path / "fleet"
    bastion_state, serving_state, logs = (tmp_path / d for d in ("b-state", "s-state", "logs"))
    for d in (fleet, bastion_state, serving_state, logs):
        d.mkdir()
    bastion_conf = render(
        "vector-bastion.toml",
        tmp_path / "bastion.toml",
        {
            '"/var/lib/vector"': f'"{bastion_state}"',
            "0.0.0.0:6000": f"127.0.0.1:{port}",
            "/var/lib/thirdbook/fleet": str(fleet),
        },
    )
    serving_conf = render(
        "vector-serving.toml",
        tmp_path / "serving.toml",
        {
            '"/var/lib/vector"': f'"{serving_state}"',
            "/var/log/serving": str(logs),
            "bastion.internal:6000": f"127.0.0.1:{port}",
        },
    )
    # Vector names the host by the machine's own name: one serving host here.
    name = socket.gethostname()
    shipper = Proc([VECTOR, "--config", str(serving_conf)], tmp_path / "serving.log")
    bastion = Proc([VECTOR, "--config", str(bastion_conf)], tmp_path / "bastion.log")
    host = Host(name, logs, shipper)
    result = run_drill(tmp_path, bastion, port, [host], fleet, None, per_phase=600)
    _assert_every_line_once(result, [name])


@pytest.mark.slow
@pytest.mark.skipif(
    FLUENT_BIT is None and not os.environ.get("THIRDBOOK_FLUENT_BIT"),
    reason="Fluent Bit " + _ABSENT,
)
def test_fluent_bit_ships_every_line_once_through_rotation(tmp_path: Path) -> None:
    assert FLUENT_BIT is not None, "THIRDBOOK_FLUENT_BIT does not name a working Fluent Bit"
    port, fleet = free_port(), tmp_path / "fleet"
    fleet.mkdir()
    bastion_conf = render(
        "fluent-bit-bastion.conf",
        tmp_path / "bastion.conf",
        {
            "0.0.0.0": "127.0.0.1",
            "24224": str(port),
            "/var/lib/fluent-bit": str(tmp_path / "b-state"),
            "/var/lib/thirdbook/fleet": str(fleet),
        },
    )
    hosts = []
    for name in ("web-1", "web-2"):
        logs, state = tmp_path / f"{name}-logs", tmp_path / f"{name}-state"
        logs.mkdir()
        state.mkdir()
        conf = render(
            "fluent-bit-serving.conf",
            tmp_path / f"{name}.conf",
            {
                "/var/log/serving": str(logs),
                "/var/lib/fluent-bit": str(state),
                "bastion.internal": "127.0.0.1",
                "24224": str(port),
            },
        )
        shipper = Proc([FLUENT_BIT, "-c", str(conf)], tmp_path / f"{name}.log", {"HOSTNAME": name})
        hosts.append(Host(name, logs, shipper))
    bastion = Proc([FLUENT_BIT, "-c", str(bastion_conf)], tmp_path / "bastion.log")

    def rotate_bastion() -> None:
        # logrotate's `create` on the bastion: the output reopens its file on every flush.
        live = fleet / "web-1.jsonl"
        if live.exists():
            os.rename(live, fleet / "web-1.jsonl.1")

    result = run_drill(tmp_path, bastion, port, hosts, fleet, rotate_bastion)
    _assert_every_line_once(result, ["web-1", "web-2"])
    assert "web-1.jsonl.1" in result.files, "the bastion's file was not rotated"
