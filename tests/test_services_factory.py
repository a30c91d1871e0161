"""One factory builds the services for the console, every command, `watch` and the demo: the
same store, control files and rules whichever way a commander comes in."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import thirdbook
from tests.test_console_flows import screen_text, wait_until
from thirdbook.cli import main
from thirdbook.domain.alerts import Firing
from thirdbook.domain.control import FlagdFile, route_for
from thirdbook.services.demo import DemoSession
from thirdbook.services.factory import Context, build_services
from thirdbook.store import Store
from thirdbook.tui import launch as tui_launch
from thirdbook.tui.app import ThirdbookApp


async def demo_incident(context: Context) -> Path:
    """A demo estate left on disk (its control files, an empty store) with a drift alert on
    credit-scorer declared as incident #1, as `thirdbook demo` leaves one; its flag file."""
    session = DemoSession(context, fresh=True)
    store = await Store.open(session.context.store_path)
    try:
        alert = await store.alerts.record(
            Firing(
                rule="credit-scorer accuracy",
                kind="drift",
                key="credit-scorer v7",
                event_ids=(1,),  # type: ignore[arg-type]
                at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
                summary="accuracy below its band",
            )
        )
        await build_services(store).triage.declare(
            [alert.id], title="v7 declines everyone", severity="SEV2", blast_radius="high"
        )
    finally:
        await store.close()
    flag = session.context.containment().flag_file
    assert flag is not None and flag.exists()
    return flag


def routed(flag: Path) -> str:
    return route_for(FlagdFile.model_validate_json(flag.read_bytes()), "credit-scorer")


def test_k_in_the_demo_console_writes_the_demo_flag_file_as_the_command_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flag = asyncio.run(demo_incident(Context.load(demo=True)))
    assert routed(flag) == "model"
    # `thirdbook --demo` builds its console exactly as a user's terminal gets it; only
    # running it is left to Pilot.
    built: list[ThirdbookApp] = []
    monkeypatch.setattr(tui_launch, "_run_app", built.append)
    assert CliRunner().invoke(main, ["--demo"]).exit_code == 0
    [app] = built

    async def press_k() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(
                pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "banner"
            )
            await pilot.press("K")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "KillSwitchDialog", "asks")
            await pilot.press("enter")  # human review; no snapshot yet: a reason is asked for
            await pilot.press(*"applicants harmed now", "enter")
            for _ in range(500):  # up to ~10 s on a busy machine
                await pilot.pause(0.02)
                said = [n.message for n in app.said if n.message.startswith("Refused")]
                assert not said, said
                if routed(flag) == "human":
                    return
            raise AssertionError("the console's K never wrote the demo's flag file")

    asyncio.run(press_k())
    # The command line writes the very same file.
    args = ["--demo", "kill-switch", "1", "--mode", "fallback", "--override", "still now"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert f"in {flag}" in done.output and routed(flag) == "fallback"


def test_a_read_command_builds_only_what_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thirdbook.ingest.ingester import Ingester
    from thirdbook.services.alerting import Alerting
    from thirdbook.services.runbooks import RunbookLibrary

    asyncio.run(demo_incident(Context.load(demo=True)))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a read command built what it does not read")

    for built in (Ingester, Alerting, RunbookLibrary):
        monkeypatch.setattr(built, "__init__", never)
    runner = CliRunner()
    for args in (["events"], ["alerts"], ["rejects"], ["status"], ["audit"], ["checkpoint"]):
        done = runner.invoke(main, ["--demo", *args])
        assert done.exit_code == 0, f"{args}: {done.output}"
    assert "accuracy below its band" in runner.invoke(main, ["--demo", "alerts"]).output


def test_only_the_factory_opens_the_store_or_builds_a_service() -> None:
    package = Path(thirdbook.__file__).parent
    builds = re.compile(
        r"\bStore\.open\(|\b(Triage|Containment|Quarantine|Registry|Hook|Export|Verify|Health"
        r"|Query|Ingest)Service\(|\bServices\(|\bActing\(|\bAlerting\("
    )
    found = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.parent.name != "store" and builds.search(path.read_text(encoding="utf-8"))
    )
    # `explain` read quickly builds its read-only explain services itself, on the inline
    # store: importing the factory would cost it the start-up it exists to save.
    assert found == ["services/factory.py", "services/quick_explain.py"]
