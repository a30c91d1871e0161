"""Every console flow, from the keyboard: declare, attach, severity, phase, runbook checks,
action items, help, palette, explorer, incident list, keymap, themes, read-only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from thirdbook.config import ConsoleConfig, ContainmentConfig, Settings
from thirdbook.domain.alerts import Firing
from thirdbook.locations import shipped_dir
from thirdbook.services.factory import Context, Services, build_services, open_services
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store
from thirdbook.tui.app import Look, ThirdbookApp
from thirdbook.tui.widgets.alert_table import AlertTable

KINDS = {"drift": "credit-scorer v7", "agent_lane": "support-agent", "feedback": "cs wrong"}


async def seed(path: Path, kinds: list[str], *, declare: bool = False) -> None:
    """A store with one open alert per kind (the last one newest), optionally declared."""
    store = await Store.open(path)
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # fixed: the snapshots show it
    ids = []
    for n, kind in enumerate(kinds):
        alert = await store.alerts.record(
            Firing(
                rule=f"{kind} rule",
                kind=kind,
                key=KINDS[kind],
                event_ids=(n + 1,),  # type: ignore[arg-type]
                at=now + timedelta(seconds=n),
                summary=f"{kind} fired",
            )
        )
        ids.append(alert.id)
    if declare:
        console = build_services(store, runbooks=_runbooks())
        await console.triage.declare(
            [ids[0]], title="v7 declines everyone", severity="SEV2", blast_radius="medium"
        )
    await store.close()


def _runbooks() -> RunbookLibrary:
    return RunbookLibrary(Path("/nonexistent"), shipped_dir("runbooks"))


def make_app(
    path: Path,
    *,
    read_only: bool = False,
    look: Look | None = None,
    settings: Settings | None = None,
) -> ThirdbookApp:
    async def open_console() -> Services:
        return await open_services(Context.for_store(path, settings), read_only=read_only)

    return ThirdbookApp(open_console, ingest=False, subtitle="test", look=look)


async def wait_until(pilot: object, check: object, what: str) -> None:
    for _ in range(1500):  # up to ~30 s: a loaded CI machine starts apps slowly
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        if check():  # type: ignore[operator]
            return
    raise AssertionError(f"never happened: {what}")


def screen_text(app: ThirdbookApp, selector: str) -> str:
    return str(app.main_screen.query_one(selector).render())


async def service(app: ThirdbookApp) -> Services:
    assert app.console_service is not None
    return app.console_service


@contextlib.asynccontextmanager
async def incident_console(
    tmp_path: Path,
    kinds: tuple[str, ...] = ("drift",),
    *,
    read_only: bool = False,
    size: tuple[int, int] = (80, 24),
    containment: ContainmentConfig | None = None,
) -> AsyncIterator[tuple[ThirdbookApp, Pilot[None]]]:
    """A console on a store with open alerts of `kinds`, the first declared as incident #1
    (its control files as `containment` says)."""
    path = tmp_path / "s.db"
    await seed(path, list(kinds), declare=True)
    settings = Settings(containment=containment or ContainmentConfig())
    app = make_app(path, read_only=read_only, settings=settings)
    async with app.run_test(size=size) as pilot:
        # Each panel paints on its own: wait for the ones a commander reads before acting.
        await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "banner")
        await wait_until(
            pilot, lambda: app.query_one(AlertTable).row_count == len(kinds), "alerts shown"
        )
        yield app, pilot


async def test_declare_shows_incident_runbook_and_timeline(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await seed(path, ["drift"])
    app = make_app(path)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.query_one(AlertTable).row_count, "alerts shown")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "banner")
        assert "Runbook — Model drift — 0/15 done" in screen_text(app, "#runbook-title")
        assert "recommended: rollback" in screen_text(app, "#incident-facts")
        timeline = app.main_screen.query_one("#timeline")
        kinds = {str(timeline.get_row_at(r)[3]) for r in range(timeline.row_count)}  # type: ignore[attr-defined]
        assert kinds == {"declared", "alert"}


async def test_attach_an_alert_to_the_active_incident(tmp_path: Path) -> None:
    async with incident_console(tmp_path, ("drift", "feedback")) as (app, pilot):
        await pilot.press("t")  # the feedback alert is newest, so it is highlighted
        await pilot.pause()
        await pilot.press("enter")  # the active incident is offered first
        svc = await service(app)
        await wait_until(pilot, lambda: True, "")
        for _ in range(1500):
            await pilot.pause(0.02)
            alerts = {a.kind: a for a in (await svc.queries.alerts()).items}
            if alerts["feedback"].status == "attached":
                break
        assert alerts["feedback"].status == "attached"
        incident = await svc.triage.incident(1)
        assert incident is not None and incident.alert_ids == (1, 2)


async def test_severity_and_phase_from_the_keyboard(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("k", "enter")  # SEV2 -> SEV1
        await wait_until(pilot, lambda: "#1 SEV1" in screen_text(app, "#incident"), "SEV1")
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("j", "enter")  # detected -> contained
        await wait_until(pilot, lambda: "contained" in screen_text(app, "#incident"), "phase")
        entries = [(e.kind, e.detail) for e in await (await service(app)).triage.timeline(1)]
        assert ("severity", "SEV2 → SEV1") in entries
        assert ("phase", "detected → contained") in entries


async def test_n_puts_a_note_on_the_timeline_with_who_and_when(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "NoteDialog", "the dialog")
        await pilot.press(*"v6 holdout looks fine", "enter")
        svc = await service(app)
        await wait_until(pilot, lambda: type(app.screen).__name__ == "MainScreen", "closed")
        notes = [e for e in await svc.triage.timeline(1) if e.kind == "note"]
        assert [e.detail for e in notes] == ["v6 holdout looks fine"] and notes[0].actor.user
        await pilot.press("4")  # the timeline panel shows it
        timeline = app.main_screen.query_one("#timeline")

        def shown() -> bool:
            rows = [timeline.get_row_at(r) for r in range(timeline.row_count)]  # type: ignore[attr-defined]
            return any("v6 holdout looks fine" in str(cell) for row in rows for cell in row)

        await wait_until(pilot, shown, "the note on the timeline panel")


async def test_checking_a_runbook_step_is_recorded_on_the_timeline(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("3")  # the runbook panel
        await pilot.pause()
        await pilot.press("j", "space")
        svc = await service(app)
        await wait_until(pilot, lambda: "1/15 done" in screen_text(app, "#runbook-title"), "1/10")
        [entry] = [e for e in await svc.triage.timeline(1) if e.kind == "runbook"]
        assert entry.detail.startswith("checked: ")
        assert entry.actor.user  # from the operating system, never typed in
        await pilot.press("space")  # again: unchecked
        await wait_until(pilot, lambda: "0/15 done" in screen_text(app, "#runbook-title"), "0/10")


async def test_action_item_is_refused_without_owner_or_date(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*"Add a pre-deploy accuracy check", "enter", "enter", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#error").render())
        assert "Refused: an action item needs an owner" in error
        app.screen.query_one("#owner").value = "alice"  # type: ignore[attr-defined]
        app.screen.query_one("#due").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "needs a due date" in str(app.screen.query_one("#error").render())
        await pilot.press(*"+7d", "enter")
        svc = await service(app)
        await wait_until(
            pilot,
            lambda: app.main_screen.query_one("#action-items").row_count,  # type: ignore[attr-defined]
            "item shown",
        )
        [item] = await svc.triage.action_items()
        assert (item.owner, item.due) == ("alice", datetime.now(UTC).date() + timedelta(days=7))
        assert "Action items: 1 open" in screen_text(app, "#actions-line")
        # Close it from the tracker, with a resolution.
        await pilot.press("5", "c")
        await pilot.pause()
        await pilot.press(*"check added to CI", "enter")
        for _ in range(1500):
            await pilot.pause(0.02)
            [item] = await svc.triage.action_items()
            if item.status == "done":
                break
        assert item.resolution == "check added to CI"


async def test_read_only_console_refuses_every_action(tmp_path: Path) -> None:
    async with incident_console(tmp_path, ("drift", "feedback"), read_only=True) as (app, pilot):
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("j", "enter")
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("j", "space")
        await pilot.pause(0.1)
        messages = [n.message for n in app.said]
        assert sum("read-only" in m for m in messages) == 2
        svc = await service(app)
        assert [e.kind for e in await svc.triage.timeline(1)] == ["declared", "alert"]


async def test_help_lists_every_key_with_its_id(tmp_path: Path) -> None:
    from thirdbook.tui.keys import binding_ids

    path = tmp_path / "s.db"
    await seed(path, ["drift"])
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one("#keys")
        ids = {str(table.get_row_at(r)[3]) for r in range(table.row_count)}  # type: ignore[attr-defined]
        assert binding_ids() <= ids
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main_screen


def test_help_screen_snapshot(snap_compare: object, tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "s.db"
    asyncio.run(seed(path, ["drift"]))

    async def ready(pilot: object) -> None:
        await pilot.pause(0.2)  # type: ignore[attr-defined]
        await pilot.press("question_mark")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]

    assert snap_compare(make_app(path), terminal_size=(80, 24), run_before=ready)  # type: ignore[operator]


async def test_palette_lists_every_action_and_runs_it(tmp_path: Path) -> None:
    from thirdbook.tui.keys import MAIN

    async with incident_console(tmp_path, size=(120, 40)) as (app, pilot):
        titles = [c.title for c in app.get_system_commands(app.main_screen)]
        for binding in MAIN:
            if binding.id not in {"up", "down"}:
                assert any(t.startswith(binding.description) for t in titles), binding.id
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Phase (p)")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "phase dialog")


async def test_keymap_remaps_a_binding_by_id(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await seed(path, ["drift"])
    app = make_app(path, look=Look(keymap={"declare": "D"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.query_one(AlertTable).row_count, "alerts shown")
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is app.main_screen
        await pilot.press("D")
        await pilot.pause()
        assert type(app.screen).__name__ == "DeclareDialog"


def test_unknown_keymap_id_is_refused_by_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from thirdbook.cli import main

    config = tmp_path / "thirdbook.toml"
    config.write_text('[console.keymap]\ndeclar = "D"\n')
    result = CliRunner().invoke(
        main, ["--config", str(config), "--data-dir", str(tmp_path), "console"]
    )
    assert result.exit_code != 0
    assert "no binding has the id(s) declar" in result.output


async def test_a_bad_theme_file_is_reported_not_a_crash(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "ugly.toml").write_text('name = "ugly"\nprimary = "not-a-colour"\n')
    (themes / "ours.toml").write_text('name = "ours"\nprimary = "#ff0000"\n')
    path = tmp_path / "s.db"
    await seed(path, ["drift"])
    look = Look(theme="ours", theme_dirs=[shipped_dir("themes"), themes])
    app = make_app(path, look=look)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert app.theme == "ours"
        messages = [n.message for n in app.said]
        assert any("ugly.toml" in m and "not a colour" in m for m in messages)
    missing = make_app(path, look=Look(theme="nope"))
    async with missing.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert missing.theme == "thirdbook-dark"
        assert any("theme 'nope' not found" in n.message for n in missing.said)


def test_shipped_themes_load_and_no_color_picks_the_mono_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from thirdbook.tui.themes import load_themes

    themes, problems = load_themes([shipped_dir("themes")])
    assert problems == []
    assert {
        "thirdbook-dark",
        "thirdbook-light",
        "thirdbook-high-contrast",
        "thirdbook-mono",
    } <= set(themes)
    monkeypatch.setenv("NO_COLOR", "1")
    assert Look.from_config(ConsoleConfig(theme="thirdbook-light")).theme == "thirdbook-mono"
    monkeypatch.delenv("NO_COLOR")
    assert Look.from_config(ConsoleConfig(theme="thirdbook-light")).theme == "thirdbook-light"


async def test_incident_list_makes_an_incident_active(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await seed(path, ["drift", "feedback"], declare=True)
    store = await Store.open(path)
    console = build_services(store, runbooks=_runbooks())
    await console.triage.declare(
        [2], title="second incident", severity="SEV3", blast_radius="medium"
    )
    await store.close()
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "INCIDENT #2" in screen_text(app, "#incident"), "newest")
        await pilot.press("I")
        await pilot.pause()
        table = app.screen.query_one("#incident-list")
        assert table.row_count == 2  # type: ignore[attr-defined]
        await pilot.press("j", "enter")
        await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "chosen")
        assert "Model drift" in screen_text(app, "#runbook-title")


async def test_two_consoles_on_one_store_see_each_others_actions_within_a_second(
    tmp_path: Path,
) -> None:
    """Two responders on one bastion: one declares, the other sees it without touching a key."""
    import asyncio
    import time

    path = tmp_path / "s.db"
    await seed(path, ["drift"])
    seen = asyncio.Event()
    declared = asyncio.Event()
    elapsed: list[float] = []

    async def watcher() -> None:
        app = make_app(path)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.query_one(AlertTable).row_count, "alerts")
            await declared.wait()
            start = time.monotonic()
            while "INCIDENT #1" not in screen_text(app, "#incident"):
                await pilot.pause(0.01)
                assert time.monotonic() - start < 5, "the other console's incident never showed"
            elapsed.append(time.monotonic() - start)
            seen.set()

    async def commander() -> None:
        app = make_app(path)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.query_one(AlertTable).row_count, "alerts")
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("enter")
            await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "own")
            declared.set()
            await seen.wait()

    # Each console runs in its own task (its own context), as two terminals would.
    await asyncio.wait_for(asyncio.gather(watcher(), commander()), timeout=60)
    assert elapsed and elapsed[0] < 1.0, f"took {elapsed[0]:.2f}s"


async def test_snapshot_from_the_keyboard_fills_the_evidence_checklist(tmp_path: Path) -> None:
    async with incident_console(tmp_path, size=(200, 50)) as (app, pilot):
        await wait_until(
            pilot, lambda: "not snapshotted" in screen_text(app, "#evidence"), "checklist"
        )
        await pilot.press("s")
        await wait_until(pilot, lambda: "snapshot #1" in screen_text(app, "#evidence"), "done")
        evidence = screen_text(app, "#evidence")
        assert "✓ model version + weights hash: captured" in evidence
        assert "✗ routing config: MISSING" in evidence  # no flag file configured: said so
        svc = await service(app)
        # The snapshot, then the runbook step it performed, checked by it (recorded just
        # after the snapshot itself: waited for, as a loaded machine may show one first).
        kinds: list[str] = []
        for _ in range(300):
            kinds = [e.kind for e in await svc.triage.timeline(1)][-2:]
            if kinds == ["evidence", "runbook"]:
                break
            await pilot.pause(0.1)
        assert kinds == ["evidence", "runbook"]


async def test_read_only_console_cannot_snapshot(tmp_path: Path) -> None:
    async with incident_console(tmp_path, read_only=True) as (app, pilot):
        await pilot.press("s")
        await wait_until(pilot, lambda: any("read-only" in n.message for n in app.said), "refusal")
        assert await (await service(app)).containment.snapshots(1) == []


async def test_kill_switch_from_the_keyboard_asks_once_and_needs_a_reason_without_snapshot(
    tmp_path: Path,
) -> None:
    from thirdbook.domain.control import FlagdFile, route_for, routing_flags

    flags = tmp_path / "killswitch.flagd.json"
    flags.write_text(routing_flags("credit-scorer").model_dump_json(by_alias=True))
    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        await pilot.press("K")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "KillSwitchDialog", "asks")
        assert "KILL SWITCH for credit-scorer" in str(app.screen.query_one("Label").render())
        await pilot.press("enter")  # human: but no snapshot, so a reason is asked for
        await pilot.press("enter")  # no reason
        await pilot.pause()
        assert "needs a reason" in str(app.screen.query_one("#error").render())
        await pilot.press(*"applicants harmed now", "enter")
        await wait_until(
            pilot,
            lambda: (
                route_for(FlagdFile.model_validate_json(flags.read_bytes()), "credit-scorer")
                == "human"
            ),
            "flipped",
        )
        kinds = [e.kind for e in await svc.triage.timeline(1)]
        assert "deviation" in kinds and "containment" in kinds


async def test_rollback_from_the_keyboard_names_the_versions_and_asks_once(
    tmp_path: Path,
) -> None:
    from tests.test_rollback import registry_file, serving

    registry = registry_file(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(registry=registry)) as (
        app,
        pilot,
    ):
        await pilot.press("s")
        await wait_until(pilot, lambda: "snapshot #1" in screen_text(app, "#evidence"), "snap")
        await pilot.press("R")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "asks")
        assert "ROLL BACK credit-scorer: v7 → v6" in str(app.screen.query_one("Label").render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: serving(registry) == "v6", "rolled back")


async def test_quarantine_from_the_keyboard_names_what_it_holds_back_and_asks_once(
    tmp_path: Path,
) -> None:
    data = tmp_path / "train"
    data.mkdir()
    (data / "part-0.jsonl").write_text('{"x": 1}\n')
    async with incident_console(tmp_path) as (app, pilot):
        svc = await service(app)
        await pilot.press("Q")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PromptDialog", "asks what")
        await pilot.press(*f"{data} ft-run-4411", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirms")
        assert "QUARANTINE 3 entries for incident #1" in str(app.screen.query_one("Label").render())
        await pilot.press("enter")  # no snapshot and no reason: refused in the dialog
        await pilot.pause()
        assert "needs a reason" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")  # cancelled: nothing held back
        await pilot.pause()
        assert await svc.quarantine.check("ft-run-4411") == []
        await pilot.press("s")
        await wait_until(pilot, lambda: "snapshot #1" in screen_text(app, "#evidence"), "snap")
        await pilot.press("Q")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PromptDialog", "asks")
        await pilot.press(*f"{data} ft-run-4411", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirms")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: (data / "part-0.jsonl").stat().st_mode & 0o222 == 0, "made read-only"
        )
        assert [i for i, _, _ in await svc.quarantine.check("ft-run-4411")] == [1]
        assert "containment" in [e.kind for e in await svc.triage.timeline(1)]


async def test_export_from_the_keyboard_writes_a_bundle_that_verifies(tmp_path: Path) -> None:
    from thirdbook.evidence.bundle_check import verify_bundle

    async with incident_console(tmp_path) as (app, pilot):
        svc = await service(app)
        await pilot.press("E")  # no snapshot yet: refused, saying why
        await wait_until(
            pilot,
            lambda: any("no complete snapshot" in n.message for n in app.said),
            "refusal",
        )
        await pilot.press("s")
        await wait_until(pilot, lambda: "snapshot #1" in screen_text(app, "#evidence"), "snap")
        await pilot.press("E")
        exports = svc.paths.exports
        await wait_until(
            pilot, lambda: exports.is_dir() and any(exports.glob("*.tar.gz")), "bundle"
        )
        [bundle] = exports.glob("*.tar.gz")
        check = verify_bundle(bundle)
        assert check.problems == [] and check.manifest.incident == 1


async def test_registry_history_from_the_keyboard_shows_the_rollback(tmp_path: Path) -> None:
    from tests.test_rollback import registry_file

    registry = registry_file(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(registry=registry)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        await svc.registry.observe()
        await svc.containment.snapshot(1)
        await svc.containment.rollback(1)
        await pilot.press("H")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RegistryScreen", "shown")
        await wait_until(
            pilot, lambda: app.screen.query_one("#registry-moves").row_count == 2, "two moves"
        )
        table = app.screen.query_one("#registry-moves")
        newest = " ".join(str(c) for c in table.get_row_at(0))  # type: ignore[attr-defined]
        assert "v7 → v6" in newest and "rollback" in newest and "#1" in newest
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "MainScreen", "back")
