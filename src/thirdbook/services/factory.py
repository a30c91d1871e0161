"""The one place that builds the services: for the console, every command, `watch` and the
demo alike, so a path or an option can never differ between two of them.

`Context` (in `context.py`) resolves what one invocation works on, all through `locations`:
the store, the sources, the rules, the control files and every path. `open_services` (or
`build_services`, over a store already open) builds `Services` from it: each service is built
on first use, so a read command builds only what it reads (`events` builds no ingester, no
alerting and no runbooks).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from thirdbook import locations
from thirdbook.config import ContainmentConfig, Settings, SourceConfig
from thirdbook.domain.rules import TriggerSettings
from thirdbook.services.acting import Acting
from thirdbook.services.identity import TERMINAL, Session
from thirdbook.store import Store
from thirdbook.store.access import Access

# Each service's module is imported where the service is first built, so that a command
# imports only what it uses (`thirdbook explain` neither the ingester nor replay's HTTP).
if TYPE_CHECKING:
    from thirdbook.evidence.objects import ObjectStore
    from thirdbook.services.calibration import CalibrationService
    from thirdbook.services.containment import ContainmentService
    from thirdbook.services.decisions import DecisionLookup
    from thirdbook.services.explain import ExplainService
    from thirdbook.services.export import ExportService
    from thirdbook.services.forensics import ForensicsService
    from thirdbook.services.health import HealthService
    from thirdbook.services.hooks import HookService
    from thirdbook.services.ingest import IngestService
    from thirdbook.services.quarantine import QuarantineService
    from thirdbook.services.queries import QueryService
    from thirdbook.services.recovery import RecoveryService
    from thirdbook.services.recovery_plans import RecoveryPlans
    from thirdbook.services.registry import RegistryService
    from thirdbook.services.regulatory import SeriousIncidents
    from thirdbook.services.replay import ReplayService
    from thirdbook.services.report import ReportService
    from thirdbook.services.review import ReviewService
    from thirdbook.services.runbooks import RunbookLibrary
    from thirdbook.services.triage import TriageService
    from thirdbook.services.unread_lookup import UnreadLookup
    from thirdbook.services.verify import VerifyService

__all__ = [
    "Access",
    "Context",
    "Paths",
    "Services",
    "build_services",
    "crash_dir",
    "demo_layer",
    "open_services",
]


from thirdbook.services.context import Context, Paths, crash_dir, demo_layer


class Services:
    """The services of one process over one store. Each is built on first use and shared
    after: `triage`, `containment`, `quarantine`, `registry`, `hooks`, `export`, `verify`,
    `health`, `queries`; and `ingest`, only where this process was asked to ingest."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        paths: Paths,
        *,
        sources: list[SourceConfig],
        triggers: TriggerSettings,
        containment: ContainmentConfig,
        runbooks: Callable[[], RunbookLibrary],
        read_only: bool,
        ingest: bool,
        session: Session = TERMINAL,
    ) -> None:
        self.store = store
        """The open store (its owner closes it with `close`; the TUI and the CLI never
        reach into it)."""
        self.settings = settings
        self.paths = paths
        self.sources = sources
        self.triggers = triggers
        self.containment_config = containment
        self._runbooks = runbooks
        self.acting = Acting(store, read_only=read_only, session=session)
        from thirdbook.services.step_actions import ActionSteps

        self.acting.on_performed = ActionSteps(store, lambda: self.runbooks).performed
        self.ingest: IngestService | None = None
        if ingest and not self.acting.read_only:
            from thirdbook.ingest.ingester import Ingester
            from thirdbook.services.alerting import Alerting
            from thirdbook.services.ingest import IngestService

            ingester = Ingester(store, sources, settings.ingest)
            alerting = Alerting(store, triggers, self.decisions)
            self.ingest = IngestService(ingester, alerting, self.registry)

    @property
    def read_only(self) -> bool:
        """Whether this process only looks (asked to, or the store cannot be written)."""
        return self.acting.read_only

    @property
    def read_only_reason(self) -> str | None:
        """Why the store cannot be written by this process (None when it can)."""
        return self.store.read_only_reason

    @property
    def session(self) -> Session:
        """Where this console is used from (a terminal, or a browser through `serve`)."""
        return self.acting.session

    @cached_property
    def objects(self) -> ObjectStore:
        """The evidence objects, beside the store."""
        from thirdbook.evidence.objects import ObjectStore

        return ObjectStore(self.paths.evidence)

    @cached_property
    def runbooks(self) -> RunbookLibrary:
        """The runbook library (read from its files on first use)."""
        return self._runbooks()

    @cached_property
    def decisions(self) -> DecisionLookup:
        """Decision records by request id, subject or inquiry."""
        from thirdbook.services.decisions import DecisionLookup

        return DecisionLookup(self.store)

    @cached_property
    def explain(self) -> ExplainService:
        """Explaining a decision from what is on tape, and answering inquiries."""
        from thirdbook.services.explain import ExplainService

        return ExplainService(self.store, self.decisions, self.objects, self.acting, self.registry)

    @cached_property
    def unread(self) -> UnreadLookup:
        """Lookups by request id or subject that also search what ingest has not stored yet
        (in the configured sources, and in every file ingest tracks)."""
        from thirdbook.services.unread_lookup import UnreadLookup

        sources = self.sources or list(self.settings.sources)
        return UnreadLookup(self.store, sources, self.settings.ingest)

    @cached_property
    def triage(self) -> TriageService:
        """Incidents, their timelines, runbook steps and action items."""
        from thirdbook.services.triage import TriageService

        return TriageService(self.store, self.acting, self.runbooks)

    @cached_property
    def registry(self) -> RegistryService:
        """The registry's alias history."""
        from thirdbook.services.registry import RegistryService

        config = self.containment_config
        return RegistryService(
            self.store,
            config.registry,
            follow=config.follow_control_symlinks,
            read_only=self.acting.read_only,
        )

    @cached_property
    def hooks(self) -> HookService:
        """The commands and webhooks containment actions run."""
        from thirdbook.services.hooks import HookService

        return HookService(self.store, self.objects, list(self.containment_config.hooks))

    @cached_property
    def containment(self) -> ContainmentService:
        """Snapshots, the kill switch and rollback."""
        from thirdbook.services.containment import ContainmentService

        return ContainmentService(
            self.store,
            self.acting,
            self.containment_config,
            objects=self.objects,
            runbooks=self.runbooks,
            registry=self.registry,
            hooks=self.hooks,
            decisions=self.decisions,
            after_snapshot=lambda incident_id: self.forensics.baseline_for_snapshot(incident_id),
        )

    @cached_property
    def forensics(self) -> ForensicsService:
        from thirdbook.services.forensics import ForensicsService

        return ForensicsService(self.containment)  # baselines and the chain diff

    @cached_property
    def replay(self) -> ReplayService:
        """Replaying an incident's decisions against its known-good and suspect versions."""
        from thirdbook.services.replay import ReplayService

        return ReplayService(self.containment, self.settings.replay)

    @cached_property
    def quarantine(self) -> QuarantineService:
        """Training data and fine-tunes held back from a retrain."""
        from thirdbook.services.quarantine import QuarantineService

        return QuarantineService(
            self.store,
            self.acting,
            self.hooks,
            self.paths.quarantine_list,
            follow=self.containment_config.follow_control_symlinks,
        )

    @cached_property
    def recovery(self) -> RecoveryService:
        """Recovery decisions: restore with conditions, retrain, retire."""
        from thirdbook.services.recovery import RecoveryService

        return RecoveryService(
            self.store, self.acting, self.containment, self.objects, self.triggers
        )

    @cached_property
    def recovery_plans(self) -> RecoveryPlans:
        """Retrain (behind the quarantine sign-off) and retire."""
        from thirdbook.services.recovery_plans import RecoveryPlans

        return RecoveryPlans(self.recovery, self.quarantine)

    @cached_property
    def export(self) -> ExportService:
        """Evidence bundles."""
        from thirdbook.services.export import ExportService

        return ExportService(
            self.store, self.acting, self.objects, self.paths.exports, report=self.report
        )

    @cached_property
    def report(self) -> ReportService:
        """The post-incident report, read from the store."""
        from thirdbook.services.report import ReportService

        config = self.containment_config
        return ReportService(
            self.store,
            self.settings.report,
            config.window_before_s,
            decisions=self.recovery.decisions,
            review=self.review.review,
        )

    @cached_property
    def review(self) -> ReviewService:
        """The blameless review: measured times, findings, runbook diff, completion."""
        from thirdbook.services.review import ReviewService

        return ReviewService(self.store, self.acting, self.runbooks, self.recovery.decisions)

    @cached_property
    def serious(self) -> SeriousIncidents:
        """Marking an incident serious (the EU AI Act Article 73 clock)."""
        from thirdbook.services.regulatory import SeriousIncidents

        return SeriousIncidents(self.store, self.acting)

    @cached_property
    def verify(self) -> VerifyService:
        """Re-checking the audit chain, the evidence and the events."""
        from thirdbook.services.verify import VerifyService

        return VerifyService(self.store, self.objects)

    @cached_property
    def health(self) -> HealthService:
        """The ingest health line's figures."""
        from thirdbook.services.health import HealthService

        return HealthService(
            self.store, self.settings.ingest, None if self.ingest is None else self.ingest.ingester
        )

    @cached_property
    def calibration(self) -> CalibrationService:
        """The near-miss register and each rule's calibration."""
        from thirdbook.services.calibration import CalibrationService

        return CalibrationService(self.store)

    @cached_property
    def queries(self) -> QueryService:
        """Alerts, events, rejects, notes, drift series and the audit chain."""
        from thirdbook.services.queries import QueryService

        return QueryService(self.store, self.acting, self.triggers)

    async def close(self) -> None:
        """Give up the ingest lease (if held) and close the store."""
        if self.ingest is not None:
            await self.ingest.release()
        await self.store.close()


def build_services(
    store: Store,
    settings: Settings | None = None,
    *,
    sources: list[SourceConfig] | None = None,
    triggers: TriggerSettings | None = None,
    containment: ContainmentConfig | None = None,
    runbooks: RunbookLibrary | Callable[[], RunbookLibrary] | None = None,
    read_only: bool = False,
    ingest: bool = False,
    paths: Paths | None = None,
    session: Session = TERMINAL,
) -> Services:
    """The services over a store already open. What is not given comes from `settings`
    (default: the defaults); the runbooks from the config file's directory; the paths from
    beside the store."""
    chosen = settings or Settings()
    if runbooks is None:
        runbooks = _default_runbooks
    elif not callable(runbooks):  # a library itself, not what makes one
        runbooks = _given(runbooks)
    return Services(
        store,
        chosen,
        paths or Paths.beside(store.path),
        sources=list(chosen.sources) if sources is None else sources,
        triggers=chosen.triggers if triggers is None else triggers,
        containment=chosen.containment if containment is None else containment,
        runbooks=runbooks,
        read_only=read_only,
        ingest=ingest,
        session=session,
    )


async def open_services(
    context: Context,
    *,
    access: Access = "write",
    read_only: bool = False,
    ingest: bool = False,
    sources: list[SourceConfig] | None = None,
    session: Session = TERMINAL,
    inline: bool = False,
) -> Services:
    """Open the context's store (refusing network filesystems) and build its services (a
    store opened read-only makes read-only services). With `ingest`, this process ingests
    `sources` (default: the context's); `session` says where the console is used from (the
    origin its actions record); with `inline`, a command that only reads reads the store on
    the stdlib `sqlite3` where it can (`store.inline`), else it is opened as asked."""
    busy_ms = context.settings.store.busy_timeout_ms
    store: Store | None = None
    if inline and not ingest:
        from thirdbook.store.inline import open_inline

        store = open_inline(context.store_path, busy_ms)
    if store is None:
        store = await Store.open(context.store_path, busy_timeout_ms=busy_ms, access=access)
    return build_services(
        store,
        context.settings,
        sources=(context.sources() if ingest else []) if sources is None else sources,
        triggers=context.triggers(),
        containment=context.containment(),
        runbooks=context.runbooks,
        read_only=read_only,
        ingest=ingest,
        paths=context.paths,
        session=session,
    )


def _default_runbooks() -> RunbookLibrary:
    from thirdbook.services.runbooks import RunbookLibrary

    return RunbookLibrary(
        locations.user_runbooks_dir(locations.config_file()), locations.shipped_dir("runbooks")
    )


def _given(library: RunbookLibrary) -> Callable[[], RunbookLibrary]:
    return lambda: library
