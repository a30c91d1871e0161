"""What one invocation works on: the store, the sources, the rules, the control files and
every path, all resolved through `locations` (the factory builds the services over it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from thirdbook import locations
from thirdbook.config import ContainmentConfig, Settings, SourceConfig, StoreConfig, read_settings
from thirdbook.domain.rules import DEMO_TRIGGERS, TriggerSettings
from thirdbook.services.quick_settings import remember
from thirdbook.services.secret_patterns import load_secret_patterns
from thirdbook.store.access import write_refusal

# The demo's serving layer and the runbooks are imported only where they are used: a
# command that reads the store needs neither.
if TYPE_CHECKING:
    from thirdbook.demo.runner import DemoServingLayer
    from thirdbook.services.runbooks import RunbookLibrary


@dataclass(frozen=True)
class Paths:
    """Every file and directory the services of one store use besides the control files."""

    store: Path
    evidence: Path
    quarantine_list: Path
    exports: Path
    ingest_log: Path
    crashes: Path

    @classmethod
    def beside(cls, store: Path, data_dir: Path | None = None) -> Paths:
        """The paths of a store: its evidence, quarantine list and exports beside it, its
        logs in `data_dir` (default: the store's directory)."""
        data = store.parent if data_dir is None else data_dir
        return cls(
            store=store,
            evidence=locations.evidence_dir(store),
            quarantine_list=locations.quarantine_file(store),
            exports=locations.exports_dir(store),
            ingest_log=locations.ingest_log(data),
            crashes=locations.crash_dir(data),
        )


def crash_dir(data_dir: Path | None = None) -> Path:
    """Where tracebacks go (the data directory's), even when the config cannot be read."""
    return locations.crash_dir(locations.data_dir(data_dir))


@dataclass(frozen=True)
class Context:
    """What one invocation works on: the settings, the data directory, the config file, and
    whether it is the demo's (`--demo`); everything else is resolved from these."""

    settings: Settings
    data_dir: Path
    config_path: Path
    demo: bool = False

    @classmethod
    def load(
        cls, data_dir: Path | None = None, config: Path | None = None, *, demo: bool = False
    ) -> Context:
        """Resolve paths (flags, then environment, then XDG) and load the config file."""
        load_secret_patterns()
        config_path = locations.config_file(config)
        data = locations.data_dir(data_dir)
        settings, source = read_settings(config_path)
        remember(source, settings)  # for the next quick read (`services.quick_settings`)
        if demo:
            from thirdbook.services.demo_endpoints import demo_replay_settings

            settings = demo_replay_settings(settings, data)
        return cls(settings, data, config_path, demo)

    @classmethod
    def for_store(cls, store: Path, settings: Settings | None = None) -> Context:
        """A context over one store file with the given settings, its own directory for
        the rest (tests and benchmarks)."""
        chosen = settings or Settings()
        chosen = chosen.model_copy(update={"store": StoreConfig(path=store)})
        return cls(chosen, store.parent, store.parent / "thirdbook.toml")

    @property
    def store_path(self) -> Path:
        """The demo's store with `--demo`; else the configured one, else the data dir's."""
        return locations.chosen_store_file(self.data_dir, self.settings.store.path, demo=self.demo)

    @property
    def demo_dir(self) -> Path:
        """Where `thirdbook demo` keeps its estate, logs and store."""
        return locations.demo_dir(self.data_dir)

    @property
    def paths(self) -> Paths:
        """Every path beside the store; a console's helper logs into the data (or demo)
        directory."""
        logs = self.demo_dir if self.demo else self.data_dir
        found = Paths.beside(self.store_path, self.data_dir)
        return Paths(
            store=found.store,
            evidence=found.evidence,
            quarantine_list=found.quarantine_list,
            exports=found.exports,
            ingest_log=locations.ingest_log(logs),
            crashes=found.crashes,
        )

    def store_write_refusal(self) -> str | None:
        """Why this process cannot write the store (read-only media, a directory that is not
        this user's); None when it can."""
        return write_refusal(self.store_path)

    def sources(self) -> list[SourceConfig]:
        """The watched sources: with `--demo`, the demo's logs; else the configured ones."""
        return demo_layer(self).sources() if self.demo else list(self.settings.sources)

    def triggers(self) -> TriggerSettings:
        """The rules in force: the configured ones; the demo's own when none are configured."""
        rules = self.settings.triggers
        if self.demo and not (rules.drift or rules.feedback or rules.lanes):
            return DEMO_TRIGGERS
        return rules

    def containment(self) -> ContainmentConfig:
        """What the serving layer reads; with `--demo`, the demo's own control files."""
        if not self.demo:
            return self.settings.containment
        return self.settings.containment.model_copy(
            update={
                "registry": locations.demo_registry_file(self.data_dir),
                "flag_file": locations.demo_flag_file(self.data_dir),
            }
        )

    def runbooks(self) -> RunbookLibrary:
        """The shipped runbooks under one's own: the configured directory, else `runbooks`
        beside the config file; the demo keeps its own beside its store."""
        from thirdbook.services.runbooks import RunbookLibrary

        shipped = locations.shipped_dir("runbooks")
        if self.demo:
            return RunbookLibrary(locations.demo_runbooks_dir(self.data_dir), shipped)
        own = self.settings.console.runbooks_dir
        user = own.expanduser() if own else locations.user_runbooks_dir(self.config_path)
        return RunbookLibrary(user, shipped)


def demo_layer(
    context: Context, *, speed: float | None = None, seed: int | None = None, otlp: bool = False
) -> DemoServingLayer:
    """The demo's simulated serving layer in the context's data directory (its settings, or
    the given speed and seed)."""
    from thirdbook.demo.runner import DemoServingLayer

    demo = context.settings.demo
    return DemoServingLayer(
        context.demo_dir,
        seed=demo.seed if seed is None else seed,
        speed=demo.speed if speed is None else speed,
        requests_per_second=demo.requests_per_second,
        endpoints_file=locations.demo_endpoints_file(context.data_dir),
        otlp=otlp,
    )
