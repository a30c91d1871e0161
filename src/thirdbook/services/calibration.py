"""Across incidents: the near-miss register and each rule's calibration, from the store's
alert facts (read-only: computing them changes nothing)."""

from __future__ import annotations

from thirdbook.domain.calibration import NearMiss, RuleCalibration, calibration, near_misses
from thirdbook.store import Store


class CalibrationService:
    """Near misses and per-rule calibration over every alert in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def near_misses(self) -> list[NearMiss]:
        """Dismissed alerts that came back declared, and alerts attached late."""
        return near_misses(await self.store.alerts.facts())

    async def calibration(self) -> list[RuleCalibration]:
        """Each rule's figures and its suggestion (tighten, loosen, keep)."""
        return calibration(await self.store.alerts.facts())

    async def both(self) -> tuple[list[RuleCalibration], list[NearMiss]]:
        """Calibration and the register from one read of the alerts."""
        facts = await self.store.alerts.facts()
        misses = near_misses(facts)
        return calibration(facts, misses), misses
