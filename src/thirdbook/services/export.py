"""Exporting an incident's evidence as a bundle (audited), and verifying one offline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thirdbook.domain import clock
from thirdbook.domain.audit import AuditRecord
from thirdbook.domain.errors import ActionFailedError, BundleError, TriageRefusedError
from thirdbook.evidence.bundle import Progress, chain_slice, write_bundle
from thirdbook.evidence.objects import ObjectStore
from thirdbook.services.acting import Acting, need_reason
from thirdbook.store import Store

if TYPE_CHECKING:
    from thirdbook.evidence.bundle_check import BundleCheck
    from thirdbook.services.report import ReportService

REPORT = "report.md"
"""The post-incident report's name in a bundle: written at export time from the store, so it
says what the bundle holds."""


class ExportService:
    """`export`: the incident, its timeline, its snapshots' manifests and objects, and its
    slice of the audit chain, in one tar.gz."""

    def __init__(
        self,
        store: Store,
        acting: Acting,
        objects: ObjectStore,
        exports: Path,
        report: ReportService | None = None,
    ) -> None:
        """`exports`: where the console writes bundles (beside the store); `report`, when
        given, writes the post-incident report into each bundle."""
        self.report = report
        self.store = store
        self.acting = acting
        self.objects = objects
        self.exports = exports

    def bundle_path(self, incident_id: int) -> Path:
        """A new bundle's file in the exports directory, named for the incident and now."""
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        return self.exports / f"thirdbook-incident-{incident_id}-{stamp}.tar.gz"

    @staticmethod
    def verify_bundle(bundle: Path) -> BundleCheck:
        """Verify a bundle offline (see `evidence.bundle_check`); a bundle that cannot be
        read safely is refused unread (`BundleError`)."""
        from thirdbook.evidence.bundle_check import verify_bundle  # tarfile only when used

        return verify_bundle(bundle)

    async def export(
        self,
        incident_id: int,
        out: Path,
        *,
        reveal: str | None = None,
        progress: Progress = lambda _: None,
    ) -> str:
        """Write the bundle; returns its MANIFEST.json's SHA-256 (also in the audit chain).
        Secrets are masked unless `reveal` gives the reason for showing them (audited)."""
        detail = {"out": str(out), "reveal_secrets": reveal}
        async with self.acting.act("export", detail, incident_id) as actor:
            if reveal is not None:
                need_reason(reveal)
            incident = await self.store.incidents.get(incident_id)
            if incident is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            snapshots = [
                s
                for s in await self.store.snapshots.for_incident(incident_id)
                if s.status == "complete" and s.manifest_sha256
            ]
            if not snapshots:
                raise TriageRefusedError(
                    f"incident #{incident_id} has no complete snapshot to "
                    "export: snapshot first (s, or `thirdbook snapshot`)"
                )
            timeline = await self.store.incidents.timeline(incident_id)
            records = await self._chain_span(incident_id)
            head = await self.store.audit.head()
            documents = {
                "incident.json": incident.model_dump(mode="json"),
                "timeline.json": [e.model_dump(mode="json") for e in timeline],
            }
            replayed = await self._replay_runs(incident_id)
            if replayed:
                documents["replay.json"] = replayed
            manifests = {s.id: str(s.manifest_sha256) for s in snapshots}
            texts = {}
            if self.report is not None:
                texts[REPORT] = await self.report.markdown(
                    incident_id,
                    bundle_note=f"This report is {REPORT} in the evidence bundle {out.name}, "
                    "written at its export: its SHA-256 is in that bundle's MANIFEST.json, "
                    "whose own SHA-256 is on the timeline and in the audit chain.",
                )
            try:
                sha = await asyncio.to_thread(
                    write_bundle,
                    out,
                    incident_id,
                    documents,
                    chain_slice(records, incident_id, reveal is not None),
                    manifests,
                    self.objects,
                    reveal=reveal is not None,
                    progress=progress,
                    head=None if head is None else head.model_dump(mode="json"),
                    replay_objects=_replay_objects(replayed),
                    texts=texts,
                )
            except BundleError as exc:
                raise ActionFailedError(
                    f"{exc}: nothing was written; `thirdbook verify` "
                    "checks the whole evidence store"
                ) from exc
            await self.store.incidents.note(
                incident_id,
                actor,
                "export",
                f"evidence bundle {out.name}: {len(snapshots)} snapshot(s), secrets "
                f"{'REVEALED (' + str(reveal) + ')' if reveal else 'masked'}; "
                f"MANIFEST.json sha256 {sha}"
                + (f"; with the post-incident report ({REPORT})" if texts else ""),
            )
        await self.acting.performed("export", incident_id, actor)
        return sha

    async def _replay_runs(self, incident_id: int) -> list[dict[str, Any]]:
        """The incident's replay runs, each with its answers (objects named by hash)."""
        runs = []
        for run in await self.store.replay_runs.for_incident(incident_id):
            answers = await self.store.replay_runs.answers(run.id)
            runs.append(
                {
                    **run.model_dump(mode="json"),
                    "answers": [a.model_dump(mode="json") for a in answers],
                }
            )
        return runs

    async def _chain_span(self, incident_id: int) -> list[AuditRecord]:
        """The audit records from the incident's first to its last."""
        own = await self.store.audit.for_incident(incident_id)
        if not own:
            return []
        first, last = own[0].seq, own[-1].seq
        span: list[AuditRecord] = []
        after = first - 1
        while after < last:
            page = await self.store.audit.records(after=after)
            if not page:
                break
            span.extend(r for r in page if r.seq <= last)
            after = page[-1].seq
        return span


def _replay_objects(runs: list[dict[str, Any]]) -> tuple[str, ...]:
    """Every request and answer object the runs name."""
    found: dict[str, None] = {}
    for run in runs:
        for answer in run["answers"]:
            for key in ("request_sha256", "answer_sha256"):
                if answer.get(key):
                    found[str(answer[key])] = None
    return tuple(found)
