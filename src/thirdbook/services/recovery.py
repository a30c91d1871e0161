"""Recovery decisions: restore with conditions, retrain behind the quarantine, or retire.

Each is refused until the incident is contained (its phase is `contained` or later, or a
containment action is on its timeline), unless an override gives the reason, which goes on
the timeline as a deviation. A decision is on the timeline ("decision") and in the audit
chain, and moves the incident to `recovering` if it is before it. A restore's conditions are
configuration: flagd targeting rules in the flag file (written as the kill switch writes it)
and band overrides the trigger engine applies until they expire.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from thirdbook.actuators.config_write import bytes_hash, replace_file
from thirdbook.actuators.flag_rules import conditioned_flags, validate_rules
from thirdbook.control_file import read_control, target_of
from thirdbook.domain.control import FlagdFile, serving_flag_key
from thirdbook.domain.errors import ActionFailedError, TriageRefusedError
from thirdbook.domain.flag_targeting import FlagCondition, parse_filter
from thirdbook.domain.incidents import PHASES, Actor, Incident
from thirdbook.domain.recovery import (
    BandOverride,
    DecisionState,
    RecoveryDecision,
    parse_band,
    parse_expiry,
)
from thirdbook.domain.rules import DriftRule, TriggerSettings
from thirdbook.evidence.objects import ObjectStore
from thirdbook.services.acting import Acting
from thirdbook.services.containment import ContainmentService
from thirdbook.services.control_steps import control, named
from thirdbook.store import Store


class RecoveryService:
    """`decide` (restore, retrain, retire), the decisions with their state, and the rules
    with their band overrides."""

    def __init__(
        self,
        store: Store,
        acting: Acting,
        containment: ContainmentService,
        objects: ObjectStore,
        triggers: TriggerSettings,
    ) -> None:
        self.store = store
        self.acting = acting
        self.containment = containment
        self.objects = objects
        self.triggers = triggers

    # -- the rule every decision meets -----------------------------------------------------

    async def decidable(
        self, incident_id: int, kind: str, override: str | None
    ) -> tuple[Incident, str | None]:
        """The incident and the override to record (None when it is contained); or the
        refusal: no incident, closed, or not contained and no override."""
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        if incident.phase == "closed":
            raise TriageRefusedError(f"incident #{incident_id} is closed")
        if await self.contained(incident):
            return incident, None
        if not (override or "").strip():
            raise TriageRefusedError(
                f"contain first: incident #{incident_id} is {incident.phase} with no "
                "containment action (kill switch, rollback or quarantine); to decide a "
                f"{kind} anyway, override with a reason"
            )
        return incident, (override or "").strip()

    async def contained(self, incident: Incident) -> bool:
        """Phase `contained` or later, or a containment action on the timeline."""
        if PHASES.index(incident.phase) >= PHASES.index("contained"):
            return True
        timeline = await self.store.incidents.timeline(incident.id)
        return any(entry.kind == "containment" for entry in timeline)

    async def deviation(
        self, incident_id: int, actor: Actor, kind: str, override: str | None
    ) -> None:
        """A decision taken before containment goes on the timeline as a deviation."""
        if override:
            await self.store.incidents.note(
                incident_id, actor, "deviation", f"{kind} decision before containment: {override}"
            )

    async def model_of(self, incident: Incident, model: str | None) -> str:
        """The model the decision is about (named, or the incident's)."""
        if model is None:
            model, _ = await self.containment.incident_model(incident)
        if model is None:
            raise TriageRefusedError(
                "cannot tell which model this incident is about: name it (--model)"
            )
        return model

    async def keep(self, data: bytes | None) -> str:
        """Keep a file's bytes as evidence; the note for the timeline."""
        if data is None:
            return ""
        try:
            kept = await asyncio.to_thread(self.objects.put_bytes, data)
        except OSError as exc:
            raise ActionFailedError(
                f"could not keep the flag file as evidence before changing it: "
                f"{(exc.strerror or str(exc)).lower()}; nothing was changed"
            ) from exc
        return f"; previous file kept as sha256:{kept.sha256}"

    # -- restore ---------------------------------------------------------------------------

    async def restore(
        self,
        incident_id: int,
        *,
        filters: list[str] | tuple[str, ...] = (),
        cohort: int = 100,
        outside: str | None = None,
        band: str | None = None,
        band_expires: str | None = None,
        rule: str | None = None,
        model: str | None = None,
        override: str | None = None,
    ) -> RecoveryDecision:
        """Put the model back with conditions: the flag file routes only requests passing
        `filters` and in the `cohort` share to it (the rest to `outside`: the route the kill
        switch holds, else human), and `band` (LOW..HIGH) tightens its drift rules until
        `band_expires` (default 7 days)."""
        asked = {"filters": list(filters), "cohort": cohort, "outside": outside, "band": band}
        detail: dict[str, Any] = {**asked, "band_expires": band_expires, "override": override}
        async with self.acting.act("decide restore", detail, incident_id) as actor:
            incident, override = await self.decidable(incident_id, "restore", override)
            model = await self.model_of(incident, model)
            if await self._retired(incident_id):
                raise TriageRefusedError(
                    f"incident #{incident_id} retired {model}: it is not restored"
                )
            bands = self._bands(model, band, rule, band_expires)
            path = self.containment.config.flag_file
            if path is None:
                raise TriageRefusedError(
                    "no flag file is configured ([containment] flag_file in thirdbook.toml)"
                )
            target = await control(
                target_of, path, follow=self.containment.config.follow_control_symlinks
            )
            current = await control(read_control, target)
            try:
                condition = FlagCondition(
                    filters=tuple(parse_filter(f) for f in filters),
                    cohort_pct=cohort,
                    outside=outside or _held_route(current, model),
                )
            except ValueError as exc:
                raise TriageRefusedError(f"not written: {exc}") from exc
            kept = await self.keep(current)
            new = await control(conditioned_flags, current, model, condition)
            before, after = await control(
                replace_file, target, new, bytes_hash(current), validate_rules
            )
            routes = f"model/{condition.outside}" if condition.narrows else "model"
            await self.store.containment.written(incident_id, "restore", model, "route", routes)
            said = [
                f"restore {model}: {condition} (flag {serving_flag_key(model)} targeting) in "
                f"{named(target, path)}; file sha256 {before} → {after}{kept}"
            ]
            said += [
                f"band override: {r.name} {_band_text(low, high)} "
                f"(was {_band_text(r.low, r.high)}) until {until.isoformat(timespec='seconds')}"
                for r, low, high, until in bands
            ]
            await self.deviation(incident_id, actor, "restore", override)
            detail.update(
                model=model,
                condition=condition.model_dump(mode="json"),
                targeting=condition.targeting(),
                flag_file=str(target),
                flag_sha256={"before": before, "after": after},
                bands=[
                    {"rule": r.name, "low": low, "high": high, "until": until.isoformat()}
                    for r, low, high, until in bands
                ],
            )
            return await self.store.recovery.record(
                incident_id,
                "restore",
                "; ".join(said),
                detail,
                actor,
                override=override,
                bands=[(r.name, low, high, until) for r, low, high, until in bands],
            )

    def _bands(
        self, model: str, band: str | None, rule: str | None, expires: str | None
    ) -> list[tuple[DriftRule, float | None, float | None, datetime]]:
        """The drift rules a band applies to (the named one, else the model's), with it."""
        if band is None:
            if rule is not None or expires is not None:
                raise TriageRefusedError("--rule and --band-expires go with --band")
            return []
        try:
            low, high = parse_band(band)
            until = parse_expiry(expires, datetime.now(UTC))
        except ValueError as exc:
            raise TriageRefusedError(f"not written: {exc}") from exc
        rules = [
            r
            for r in self.triggers.drift
            if (r.name == rule if rule is not None else r.model == model)
        ]
        if not rules:
            what = f"named {rule!r}" if rule is not None else f"for {model}"
            raise TriageRefusedError(f"there is no drift rule {what} to tighten")
        return [(r, low, high, until) for r in rules]

    async def _retired(self, incident_id: int) -> bool:
        return any(d.kind == "retire" for d in await self.store.recovery.decisions(incident_id))

    # -- reading ---------------------------------------------------------------------------

    async def decisions(self, incident_id: int) -> list[DecisionState]:
        """An incident's decisions, oldest first, each with its state: the restore's flag
        rules written and observed in the serving logs, its band overrides and expiry."""
        decisions = await self.store.recovery.decisions(incident_id)
        restores = [
            s for s in await self.store.containment.states(incident_id) if s.action == "restore"
        ]
        bands = await self.store.recovery.band_overrides(incident_id)
        states, restore_n = [], len([d for d in decisions if d.kind == "restore"])
        for decision in decisions:
            written = observed = None
            if decision.kind == "restore":
                restore_n -= 1  # states are newest first; decisions oldest first
                if restore_n < len(restores):
                    written, observed = restores[restore_n].written, restores[restore_n].observed
            states.append(
                DecisionState(
                    decision=decision,
                    written=written,
                    observed=observed,
                    bands=tuple(b for b in bands if b.decision_id == decision.id),
                )
            )
        return states

    async def rules(self) -> list[tuple[DriftRule, list[BandOverride]]]:
        """Each drift rule with its band overrides, newest first (expired ones too)."""
        overrides = await self.store.recovery.band_overrides()
        return [
            (
                r,
                sorted(
                    (o for o in overrides if o.rule == r.name), key=lambda o: o.since, reverse=True
                ),
            )
            for r in self.triggers.drift
        ]


def _held_route(current: bytes | None, model: str) -> str:
    """The route the kill switch holds the model's traffic on (human when it routes to the
    model, or there is no flag): where requests outside the condition keep going."""
    if current is None:
        return "human"
    try:
        flag = FlagdFile.model_validate_json(current).flags.get(serving_flag_key(model))
    except ValueError:
        return "human"
    value = None if flag is None else flag.variants.get(flag.default_variant)
    return (
        value if isinstance(value, str) and value in {"human", "fallback", "refused"} else "human"
    )


def _band_text(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else f'{low:g}'}, {'+inf' if high is None else f'{high:g}'}]"
