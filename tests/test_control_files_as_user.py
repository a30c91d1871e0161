"""Issue 9: the kill switch run for real as an unprivileged user (the tests run as root and
drop to `nobody` for the command): the flag file's owner is kept or the write refused, and a
control directory it cannot write is one sentence and a failed audit record, no traceback."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_evidence import _incident_with_log
from tests.test_kill_switch import flags_file
from thirdbook.domain.control import FlagdFile, route_for
from thirdbook.store import Store

NOBODY = 65534
OTHER = 4321  # the serving process's uid and gid: neither is `nobody`

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")


@pytest.fixture
def estate() -> Iterator[Path]:
    """A folder `nobody` can reach (pytest's own tmp folders are root's alone), holding a
    store with incident #1 owned by `nobody`, and a `control/` directory."""
    root = Path(tempfile.mkdtemp(prefix="thirdbook-uid-", dir="/tmp"))
    root.chmod(0o755)

    async def declare() -> None:
        console, _, _ = await _incident_with_log(root)
        await console.close()

    asyncio.run(declare())
    for path in [root / "data", *(root / "data").rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    (root / "control").mkdir(mode=0o755)
    (root / "thirdbook.toml").write_text(
        f'[containment]\nflag_file = "{root / "control" / "killswitch.flagd.json"}"\n'
    )
    try:
        yield root
    finally:
        shutil.rmtree(root)


@functools.cache
def _setpriv() -> list[str]:
    """`setpriv` switching to nobody, probed once: plain, or (where the interpreter lives
    in root's home, unreadable to nobody) keeping CAP_DAC_READ_SEARCH alone, which lets it
    read and search but grants no write, chown or ownership right: what these tests are
    about is unchanged."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to run a command as nobody")
    base = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}"]
    probe = [sys.executable, "-c", "import thirdbook.cli"]
    for extra in ([], ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]):
        if (
            subprocess.run(
                [*base, "--clear-groups", *extra, *probe], cwd="/", capture_output=True, timeout=120
            ).returncode
            == 0
        ):
            return [*base, *extra]
    pytest.skip("nobody cannot run this Python interpreter")


def as_nobody(
    root: Path, *args: str, groups: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a thirdbook command as nobody (uid, gid and groups), with a timeout."""
    env = {
        **os.environ,
        "HOME": str(root),
        "THIRDBOOK_DATA_DIR": str(root / "data"),
        "THIRDBOOK_CONFIG": str(root / "thirdbook.toml"),
    }
    joined = ["--clear-groups"] if not groups else [f"--groups={','.join(map(str, groups))}"]
    return subprocess.run(
        [*_setpriv(), *joined, sys.executable, "-m", "thirdbook.cli", *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def kill(root: Path, groups: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    return as_nobody(
        root, "kill-switch", "1", "--mode", "human", "--override", "customers harmed", groups=groups
    )


def route(path: Path) -> str:
    return route_for(FlagdFile.model_validate_json(path.read_bytes()), "credit-scorer")


def audited(root: Path) -> list[tuple[str, str, str]]:
    async def go() -> list[tuple[str, str, str]]:
        store = await Store.open(root / "data" / "thirdbook.db")
        try:
            return [
                (r.content["action"], r.content["outcome"], json.dumps(r.content.get("detail", {})))
                for r in await store.audit.records()
            ]
        finally:
            await store.close()

    return asyncio.run(go())


def test_a_non_root_kill_refuses_to_change_the_flag_files_owner(estate: Path) -> None:
    control = estate / "control"
    os.chown(control, NOBODY, NOBODY)  # nobody may write the directory...
    flag = flags_file(control)
    os.chown(flag, OTHER, OTHER)  # ...but the file belongs to the serving process
    flag.chmod(0o644)
    before = flag.read_bytes()
    done = kill(estate)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    said = f"{flag} is owned by uid {OTHER} gid {OTHER}, and uid {NOBODY} cannot give"
    assert said in done.stderr
    assert "refused, nothing written" in done.stderr
    st = flag.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (OTHER, OTHER, 0o644)
    assert flag.read_bytes() == before
    assert [p.name for p in control.iterdir() if p.name.endswith(".tmp")] == []
    assert any(
        a == "kill-switch" and o == "refused" and "is owned by uid" in d
        for a, o, d in audited(estate)
    )


def test_a_non_root_kill_keeps_the_flag_files_owner_group_and_mode(estate: Path) -> None:
    control = estate / "control"
    os.chown(control, NOBODY, OTHER)
    control.chmod(0o775)
    flag = flags_file(control)
    os.chown(flag, NOBODY, OTHER)  # the serving process reads it through its group
    flag.chmod(0o640)
    done = kill(estate, groups=(OTHER,))
    assert done.returncode == 0, done.stderr
    assert f"kill switch written: routed to human in {flag};" in done.stdout
    st = flag.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, OTHER, 0o640)
    assert route(flag) == "human"


def test_a_read_only_control_directory_is_one_sentence_and_audited_as_failed(
    estate: Path,
) -> None:
    control = estate / "control"  # root's, 0755: nobody cannot create anything in it
    flag = flags_file(control)
    os.chown(flag, NOBODY, NOBODY)
    before = flag.read_bytes()
    done = kill(estate)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        f"failed: could not create the lock for {flag}: permission denied; it is unchanged"
    )
    lock = control / f".{flag.name}.lock"
    lock.touch(mode=0o644)  # a lock left by root: taken read-only, then the write itself fails
    done = kill(estate)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        f"failed: could not write {flag}: permission denied; it is unchanged"
    )
    assert flag.read_bytes() == before
    failed = [d for a, o, d in audited(estate) if (a, o) == ("kill-switch", "failed")]
    assert len(failed) == 2 and "could not write" in failed[1]
