"""Replaying an incident's decisions against its known-good and suspect versions: the run,
its answers kept as evidence objects, its verdict on the timeline and in the audit chain.

Running it again resumes the incident's unfinished run of the same versions and inputs:
pairs already answered are not sent again. A commander's mark sets an input's expected
outcome and recomputes the run's verdict.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from thirdbook.config import ReplayConfig, ReplayEndpointConfig
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor, Incident
from thirdbook.domain.replay import ReplayRun, StoredAnswer
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.snapshot import window_of
from thirdbook.forensics.replay_endpoints import Endpoint, build_endpoint
from thirdbook.forensics.replay_inputs import (
    decision_by_request,
    expected_outcomes,
    gather_inputs,
)
from thirdbook.forensics.replay_runner import Progress, ReplayAnswer, run_replay
from thirdbook.forensics.replay_verdict import NOT_PREFIX, Verdict, judge, run_verdict
from thirdbook.services.acting import Acting
from thirdbook.services.containment import ContainmentService
from thirdbook.services.replay_detail import ReplayDetail, load_detail
from thirdbook.store import Store

__all__ = [
    "Mark",
    "Progress",
    "ReplayDetail",
    "ReplayLine",
    "ReplayOutcome",
    "ReplayService",
    "Verdict",
]

Mark = Literal["right", "wrong"]
REPORTS_READ = 200
"""An alert's first events read to tell its model version (a report: the decision it names)."""


@dataclass(frozen=True)
class ReplayLine:
    """One input of a run: both versions' decisions (or errors), expected, verdict."""

    request_id: str
    known_good: str | None
    suspect: str | None
    known_good_error: str | None
    suspect_error: str | None
    expected: str | None
    expected_source: str | None
    verdict: Verdict


@dataclass(frozen=True)
class ReplayOutcome:
    """A run as stored and its inputs' lines; `cancelled` when it stopped before the end."""

    run: ReplayRun
    lines: list[ReplayLine]
    cancelled: bool = False


def lines_of(run: ReplayRun, answers: list[StoredAnswer]) -> list[ReplayLine]:
    """The run's inputs, in the order their first answer came."""
    by_input: dict[str, dict[str, StoredAnswer]] = {}
    for answer in answers:
        by_input.setdefault(answer.request_id, {})[answer.version] = answer
    lines = []
    for request_id, got in by_input.items():
        good, bad = got.get(run.known_good), got.get(run.suspect)
        either = good or bad
        expected = None if either is None else either.expected
        good_d = None if good is None else good.decision
        bad_d = None if bad is None else bad.decision
        lines.append(
            ReplayLine(
                request_id=request_id,
                known_good=good_d,
                suspect=bad_d,
                known_good_error=None if good is None else good.error,
                suspect_error=None if bad is None else bad.error,
                expected=expected,
                expected_source=None if either is None else either.expected_source,
                verdict=judge(expected, good_d, bad_d),
            )
        )
    return lines


class ReplayService:
    """Start, resume, cancel and mark replay runs."""

    def __init__(self, containment: ContainmentService, config: ReplayConfig) -> None:
        """`containment`: the incident's model, the registry, the store, the evidence
        objects and the window of interest, as containment sees them."""
        self.store: Store = containment.store
        self.acting: Acting = containment.acting
        self.objects: ObjectStore = containment.objects
        self.config = config
        self.containment = containment
        self.window_before_s = containment.config.window_before_s

    async def run(
        self,
        incident_id: int,
        *,
        inputs: str | None = None,
        known_good: str | None = None,
        suspect: str | None = None,
        endpoints: dict[str, str] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: asyncio.Event | None = None,
    ) -> ReplayOutcome:
        """Replay the inputs against both versions (resuming the unfinished run of the same
        versions and inputs); the run with its verdict, or cancelled with what was answered."""
        named = inputs or "window"
        detail = {"inputs": named, "known_good": known_good, "suspect": suspect}
        async with self.acting.act("replay", detail, incident_id) as actor:
            incident = await self._incident(incident_id)
            model, serving = await self.containment.incident_model(incident)
            decided = await self._decided(incident)
            suspect = suspect or self._suspect(incident, serving, decided)
            known_good = known_good or self._known_good(self._model(model, decided), suspect)
            if known_good == suspect:
                raise TriageRefusedError(f"the known-good and suspect versions are both {suspect}")
            answerers = self._endpoints([known_good, suspect], endpoints or {})
            window = await window_of(self.store, incident, self.window_before_s)
            gathered = await gather_inputs(self.store, inputs, suspect=suspect, window=window)
            skipped = dict(gathered.skipped)
            if not gathered.inputs:
                why = "; ".join(f"{n} skipped: {r}" for r, n in skipped.items())
                raise TriageRefusedError(f"nothing to replay ({why or 'no decisions found'})")
            expected = await expected_outcomes(self.store, gathered, self.config.check_command)
            resumed = await self._resumable(incident_id, known_good, suspect, named)
            if resumed is None:
                run_id = await self.store.replay_runs.start(
                    incident_id, known_good, suspect, named, skipped, actor
                )
            else:
                run_id = resumed
            done = {
                (a.request_id, a.version)
                for a in await self.store.replay_runs.answers(run_id)
                if a.error is None
            }
            if resumed is not None:  # audited as resumed, with what is not sent again
                await self.store.replay_runs.set_status(
                    run_id, "running", skipped, actor, len(done)
                )

            async def sink(answer: ReplayAnswer) -> None:
                await self._keep(run_id, answer, expected.get(answer.request_id))

            try:
                await run_replay(
                    gathered.inputs,
                    answerers,
                    concurrency=self.config.concurrency,
                    extract=self.config.extract,
                    sink=sink,
                    answered=done,
                    on_progress=on_progress,
                    cancel=cancel,
                )
            finally:
                for answerer in answerers:
                    await answerer.aclose()
            if cancel is not None and cancel.is_set():
                answered = len(await self.store.replay_runs.answers(run_id))
                await self.store.replay_runs.set_status(
                    run_id, "cancelled", skipped, actor, answered
                )
                return await self._outcome(run_id, cancelled=True)
            outcome = await self._finish(run_id, actor)
        await self.acting.performed("replay", incident_id, actor)
        return outcome

    async def mark(self, run_id: int, request_id: str, mark: Mark) -> ReplayOutcome:
        """The commander says the suspect's answer to one input was right or wrong; the
        run's verdict is recomputed (on the timeline and audited)."""
        detail = {"run": run_id, "request_id": request_id, "mark": mark}
        run = await self.store.replay_runs.get(run_id)
        async with self.acting.act(
            "replay mark", detail, None if run is None else run.incident_id
        ) as actor:
            if run is None:
                raise TriageRefusedError(f"there is no replay run #{run_id}")
            answers = await self.store.replay_runs.answers(run_id)
            mine = [a for a in answers if a.request_id == request_id and a.version == run.suspect]
            if not mine or mine[0].decision is None:
                raise TriageRefusedError(
                    f"run #{run_id} has no answer from {run.suspect} to {request_id} to mark"
                )
            said = mine[0].decision
            expected = said if mark == "right" else NOT_PREFIX + said
            marked = [
                a.model_copy(update={"expected": expected}) if a.request_id == request_id else a
                for a in answers
            ]
            verdict, counts = run_verdict([line.verdict for line in lines_of(run, marked)])
            note = (
                f"replay #{run_id}: {request_id} marked {mark} ({run.suspect} said {said}); "
                f"run verdict {verdict.value}"
            )
            await self.store.replay_runs.mark(
                run_id, request_id, expected, verdict.value, counts, actor, note
            )
            return await self._outcome(run_id)

    async def outcome(self, run_id: int) -> ReplayOutcome:
        """A stored run and its lines."""
        return await self._outcome(run_id)

    async def detail(self, run_id: int, request_id: str) -> ReplayDetail | None:
        """One input of a run side by side: the request as sent, each version's answer."""
        run = await self.store.replay_runs.get(run_id)
        if run is None:
            return None
        answers = await self.store.replay_runs.answers(run_id)
        return await load_detail(self.objects, run, answers, request_id)

    async def runs(self, incident_id: int) -> list[ReplayRun]:
        """An incident's runs, newest first."""
        return await self.store.replay_runs.for_incident(incident_id)

    async def _incident(self, incident_id: int) -> Incident:
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        return incident

    async def _decided(self, incident: Incident) -> list[tuple[str | None, str]]:
        """The (model, version) of the alerts' decisions (a feedback alert's: those its
        reports name), and a drift alert's version first."""
        found: list[tuple[str | None, str]] = []
        for alert_id in incident.alert_ids:
            alert = await self.store.alerts.get(alert_id)
            if alert is None:
                continue
            if alert.kind == "drift" and len(alert.key.split(" ")) > 1:
                return [(alert.key.split(" ")[0], alert.key.split(" ")[1])]
            for event in await self.store.events.by_ids(alert.event_ids[:REPORTS_READ]):
                if event.kind == "feedback" and event.request_id:  # the decision it names
                    decision = await decision_by_request(self.store, event.request_id)
                    event = decision if decision is not None else event
                if event.model_version:
                    found.append((event.model_name, event.model_version))
        return found

    @staticmethod
    def _suspect(
        incident: Incident, serving: str | None, decided: list[tuple[str | None, str]]
    ) -> str:
        """A drift alert's version, else the most frequent among the alerts' decisions,
        else the registry's serving version."""
        versions = [version for _, version in decided]
        if versions:
            return max(set(versions), key=versions.count)
        if serving is None:
            raise TriageRefusedError(
                f"cannot tell incident #{incident.id}'s model version: name it (--suspect)"
            )
        return serving

    def _model(self, model: str | None, decided: list[tuple[str | None, str]]) -> str | None:
        """The incident's model as the registry names it: its own, else the decisions'
        (a report against a decision service names the service, not the model)."""
        registry = self.containment.registry.current()
        if registry is None or (model is not None and model in registry.models):
            return model
        names = [name for name, _ in decided if name is not None and name in registry.models]
        return max(set(names), key=names.count) if names else model

    def _known_good(self, model: str | None, suspect: str) -> str:
        registry = self.containment.registry.current()
        entry = None if registry is None or model is None else registry.models.get(model)
        good = (
            []
            if entry is None
            else [
                (v.registered or "", name)
                for name, v in entry.versions.items()
                if v.known_good and name != suspect
            ]
        )
        if not good:
            raise TriageRefusedError(
                f"no known-good version of {model or 'the model'} other than {suspect} in the "
                "registry: name it (--known-good)"
            )
        return max(good)[1]

    def _endpoints(self, versions: list[str], overrides: dict[str, str]) -> list[Endpoint]:
        chosen: list[Endpoint] = []
        for version in versions:
            config = self.config.endpoints.get(version)
            if version in overrides:
                url = overrides[version]
                config = (
                    ReplayEndpointConfig(url=url)
                    if config is None
                    else config.model_copy(update={"url": url, "command": None})
                )
            if config is None:
                raise TriageRefusedError(
                    f"no replay endpoint for version {version}: add [replay.endpoints.{version}] "
                    f'url = "http://host:port/v1" (or command = [...]) to thirdbook.toml, or '
                    f"pass --endpoint {version}=URL"
                )
            try:
                endpoint = build_endpoint(
                    version,
                    config,
                    seed=self.config.seed,
                    retries=self.config.retries,
                    max_answer_bytes=self.config.max_answer_bytes,
                    connections=self.config.concurrency,
                )
            except ValueError as exc:
                raise TriageRefusedError(
                    f"the replay endpoint of version {version} cannot be used: {exc}"
                ) from None
            chosen.append(endpoint)
        return chosen

    async def _resumable(
        self, incident_id: int, known_good: str, suspect: str, inputs: str
    ) -> int | None:
        for run in await self.store.replay_runs.for_incident(incident_id):
            if (run.known_good, run.suspect, run.inputs) == (known_good, suspect, inputs):
                return None if run.status == "finished" else run.id
        return None

    async def _keep(
        self, run_id: int, answer: ReplayAnswer, expected: tuple[str, str] | None
    ) -> None:
        request = json.dumps(answer.request, sort_keys=True, separators=(",", ":")).encode()
        request_ref = await asyncio.to_thread(self.objects.put_bytes, request)
        answer_ref = None
        if answer.answer is not None:
            answer_ref = await asyncio.to_thread(self.objects.put_bytes, answer.answer.body)
        await self.store.replay_runs.add_answer(
            StoredAnswer(
                run_id=run_id,
                request_id=answer.request_id,
                version=answer.version,
                endpoint=answer.endpoint,
                request_sha256=request_ref.sha256,
                answer_sha256=None if answer_ref is None else answer_ref.sha256,
                decision=answer.decision,
                error=answer.error,
                expected=None if expected is None else expected[0],
                expected_source=None if expected is None else expected[1],
            )
        )

    async def _finish(self, run_id: int, actor: Actor) -> ReplayOutcome:
        outcome = await self._outcome(run_id)
        verdict, counts = run_verdict([line.verdict for line in outcome.lines])
        run = outcome.run
        shown = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        skipped = sum(run.skipped.values())
        note = (
            f"replay #{run_id} of {len(outcome.lines)} inputs, {run.known_good} (known good) "
            f"against {run.suspect}: {verdict.value} ({shown})"
            + (f"; {skipped} skipped" if skipped else "")
        )
        await self.store.replay_runs.finish(run_id, verdict.value, counts, actor, note)
        return await self._outcome(run_id)

    async def _outcome(self, run_id: int, *, cancelled: bool = False) -> ReplayOutcome:
        run = await self.store.replay_runs.get(run_id)
        assert run is not None
        answers = await self.store.replay_runs.answers(run_id)
        return ReplayOutcome(run, lines_of(run, answers), cancelled)
