"""The two recovery decisions that are plans: retrain (refused until the quarantine audit is
signed off) and retire (the replacement, the kill switch for good, the communication note
kept as evidence). Both meet `RecoveryService.decidable`, as a restore does."""

from __future__ import annotations

import asyncio
from typing import Any

from thirdbook.domain.control import KillMode
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.recovery import REPLACEMENT_ROUTE, RecoveryDecision, Replacement
from thirdbook.domain.text import visible
from thirdbook.services.quarantine import QuarantineService
from thirdbook.services.recovery import RecoveryService

NOTE_CAP = 64 * 1024
"""The longest communication note kept (bytes of UTF-8)."""


class RecoveryPlans:
    """`decide retrain` and `decide retire`."""

    def __init__(self, recovery: RecoveryService, quarantine: QuarantineService) -> None:
        self.recovery = recovery
        self.quarantine = quarantine
        self.store = recovery.store
        self.acting = recovery.acting

    async def retrain(
        self, incident_id: int, data: list[str], signer: str, *, override: str | None = None
    ) -> RecoveryDecision:
        """A retrain plan: what it trains on, what the incident quarantined, who signs it
        off. Refused until the incident's quarantine audit is signed off, and when any of
        its data is held by a quarantine not signed off."""
        detail: dict[str, Any] = {"data": data, "signer": signer, "override": override}
        async with self.acting.act("decide retrain", detail, incident_id) as actor:
            _, override = await self.recovery.decidable(incident_id, "retrain", override)
            if not signer.strip():
                raise TriageRefusedError("a retrain plan names who signs it off (--signer)")
            if not [d for d in data if d.strip()]:
                raise TriageRefusedError("a retrain plan says what data it trains on (--data)")
            signed = await self.store.recovery.sign_offs()
            if incident_id not in signed:
                raise TriageRefusedError(
                    f"retrain refused: incident #{incident_id}'s quarantine audit is not signed "
                    f"off (`thirdbook quarantine sign-off {incident_id} --reason …`)"
                )
            for item in data:
                held = [f"#{i}" for i, _, _ in await self.quarantine.check(item) if i not in signed]
                if held:
                    raise TriageRefusedError(
                        f"retrain refused: {visible(item, 200)} is quarantined by incident "
                        f"{', '.join(held)}, whose audit is not signed off"
                    )
            quarantined = [
                {"target": t, "kind": k, "sha256": h}
                for i, t, k, h in await self.store.quarantine.listed()
                if i == incident_id
            ]
            sign_off = signed[incident_id]
            detail.update(quarantined=quarantined, sign_off=sign_off.model_dump(mode="json"))
            summary = (
                f"retrain plan: train on {', '.join(data)}; quarantined by this incident: "
                f"{len(quarantined)} entr{'y' if len(quarantined) == 1 else 'ies'} (audit signed "
                f"off by {sign_off.by}: {sign_off.reason}); signs off: {signer.strip()}"
            )
            await self.recovery.deviation(incident_id, actor, "retrain", override)
            return await self.store.recovery.record(
                incident_id, "retrain", summary, detail, actor, override=override
            )

    async def retire(
        self,
        incident_id: int,
        replacement: Replacement,
        note: str,
        *,
        name: str | None = None,
        model: str | None = None,
        override: str | None = None,
    ) -> RecoveryDecision:
        """Retire the model: the kill switch routes it to its replacement (people: human;
        a rules engine or another model: the fallback path) for good, and the communication
        note is kept as an evidence object, named on the timeline."""
        detail: dict[str, Any] = {
            "replacement": replacement,
            "name": name,
            "model": model,
            "override": override,
        }
        async with self.acting.act("decide retire", detail, incident_id) as actor:
            given = override  # the kill switch's own snapshot-first rule may need it too
            incident, override = await self.recovery.decidable(incident_id, "retire", override)
            model = await self.recovery.model_of(incident, model)
            if replacement not in REPLACEMENT_ROUTE:
                raise TriageRefusedError(f"{replacement!r} is not human, rules or model")
            if replacement != "human" and not (name or "").strip():
                raise TriageRefusedError(
                    f"name the {'rules engine' if replacement == 'rules' else 'model'} that "
                    "replaces it (--replacement-name)"
                )
            text = note.strip()
            if not text:
                raise TriageRefusedError("a retirement needs its communication note (not empty)")
            data = (text + "\n").encode()
            if len(data) > NOTE_CAP:
                raise TriageRefusedError(f"the note is over {NOTE_CAP // 1024} KiB")
            kept = await asyncio.to_thread(self.recovery.objects.put_bytes, data)
            route: KillMode = "human" if REPLACEMENT_ROUTE[replacement] == "human" else "fallback"
            written = await self.recovery.containment.kill_switch(
                incident_id, route, model=model, override=given
            )
            who = "people (human route)" if replacement == "human" else f"{replacement} {name}"
            detail.update(
                model=model,
                route=route,
                permanent=True,
                note_sha256=kept.sha256,
                flag_file=None if written.path is None else str(written.path),
                flag_sha256={"before": written.before, "after": written.after},
            )
            summary = (
                f"retire {model}: replaced by {who}; kill switch set for good (routed to "
                f"{route}); communication note kept as sha256:{kept.sha256} "
                f"({len(data):,} bytes): {visible(text.splitlines()[0], 120)}"
            )
            await self.recovery.deviation(incident_id, actor, "retire", override)
            return await self.store.recovery.record(
                incident_id, "retire", summary, detail, actor, override=override
            )
