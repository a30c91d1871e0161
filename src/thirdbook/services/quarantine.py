"""Quarantine: training data and fine-tunes a retrain must not use, hashed, made read-only
and listed in the quarantine file that a retrain pipeline checks; snapshot first."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from thirdbook.actuators.config_write import file_hash, replace_file
from thirdbook.actuators.quarantine import check_value, inspect, make_read_only
from thirdbook.control_file import target_of
from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.domain.evidence import QuarantineTarget
from thirdbook.domain.recovery import QuarantineSignOff
from thirdbook.services.acting import Acting
from thirdbook.services.control_steps import control
from thirdbook.services.hooks import HookService
from thirdbook.services.snapshot_first import record_deviation, snapshot_first
from thirdbook.store import Store


class QuarantineService:
    """`quarantine add` and `quarantine check`; the list file is rewritten on every add."""

    def __init__(
        self, store: Store, acting: Acting, hooks: HookService, list_file: Path, *, follow: bool
    ) -> None:
        """`list_file`: the quarantine list a retrain reads; `follow`: whether a link there
        is followed (else refused)."""
        self.store = store
        self.acting = acting
        self.hooks = hooks
        self.list_file = list_file
        self.follow = follow

    async def add(
        self, incident_id: int, targets: list[str], *, override: str | None = None
    ) -> list[QuarantineTarget]:
        """Quarantine training data or fine-tunes (paths or ids): hashes recorded, files made
        read-only, and the quarantine list file rewritten."""
        async with self.acting.act(
            "quarantine", {"targets": targets, "override": override}, incident_id
        ) as actor:
            if await self.store.incidents.get(incident_id) is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            override = await snapshot_first(self.store, incident_id, override)
            found = await self.plan(targets)
            hooks, instead = self.hooks.configured("quarantine")
            read_only = (
                0 if instead else sum([await asyncio.to_thread(make_read_only, t) for t in found])
            )
            await record_deviation(self.store, incident_id, actor, "quarantine", override)
            await self.store.quarantine.add(
                incident_id,
                found,
                actor,
                f"quarantine: {', '.join(targets)} ({len(found)} entries, {read_only} files "
                f"made read-only)",
            )
            listed = await self.store.quarantine.listed()
            try:
                await control(self._write_list, listed)
            except TriageRefusedError as exc:  # the entries are recorded: the list lags
                raise ActionFailedError(
                    f"the quarantine is recorded, but its list file was not written: {exc}"
                ) from exc
            await self.hooks.run(
                incident_id,
                actor,
                "quarantine",
                hooks,
                {"targets": [t.model_dump(mode="json") for t in found]},
            )
        await self.acting.performed("quarantine", incident_id, actor)
        return found

    async def plan(self, targets: tuple[str, ...] | list[str]) -> list[QuarantineTarget]:
        """What quarantining `targets` would hold back (files hashed, directories walked)."""
        return [t for target in targets for t in await asyncio.to_thread(inspect, target)]

    async def preview(
        self, incident_id: int, targets: tuple[str, ...] | list[str], override: str | None
    ) -> list[str]:
        """What `add` would do now, changing nothing (`--dry-run`); a refusal it would meet
        is raised as it would be."""
        hooks, _ = self.hooks.configured("quarantine")
        await snapshot_first(self.store, incident_id, override)
        return [
            f"would quarantine {t.kind} {t.target}"
            + ("" if t.sha256 is None else f" (sha256:{t.sha256})")
            for t in await self.plan(targets)
        ] + [
            f"would run the quarantine hook {h.target} ({h.when}, timeout {h.timeout_s:g} s)"
            for h in hooks
        ]

    async def sign_off(self, incident_id: int, reason: str) -> QuarantineSignOff:
        """Sign off an incident's quarantine audit (who from the OS, why given): a retrain
        may then be planned, and `check` names its entries as audited."""
        async with self.acting.act("quarantine sign-off", {"reason": reason}, incident_id) as actor:
            if not reason.strip():
                raise TriageRefusedError("signing off a quarantine audit needs a reason")
            entries = [t for i, t, _, _ in await self.store.quarantine.listed() if i == incident_id]
            await self.store.recovery.sign_off(
                incident_id,
                reason.strip(),
                actor,
                f"quarantine audit signed off ({len(entries)} entries: "
                f"{', '.join(entries[:5])}{', …' if len(entries) > 5 else ''}): {reason.strip()}",
            )
        return (await self.store.recovery.sign_offs())[incident_id]

    async def audited(self) -> dict[int, QuarantineSignOff]:
        """The incidents whose quarantine audit is signed off."""
        return await self.store.recovery.sign_offs()

    async def check(self, target: str) -> list[tuple[int, str, str]]:
        """Quarantine entries covering a path (by path, by content, or inside a directory)
        or an id: (incident, entry, kind) each."""
        value, sha = await asyncio.to_thread(check_value, target)
        return await self.store.quarantine.matching(value, sha)

    def _write_list(self, listed: list[tuple[int, str, str, str | None]]) -> None:
        path = target_of(self.list_file, follow=self.follow)
        entries = [{"incident": i, "target": t, "kind": k, "sha256": h} for i, t, k, h in listed]
        data = (json.dumps({"quarantined": entries}, indent=2) + "\n").encode()
        replace_file(path, data, file_hash(path), lambda b: None)
