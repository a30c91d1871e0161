"""Where things are for one invocation: the settings, the data directory, the store path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from thirdbook import locations
from thirdbook.config import ContainmentConfig, Settings, load_settings
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.services.secret_patterns import load_secret_patterns
from thirdbook.store.access import write_refusal


@dataclass(frozen=True)
class Context:
    """The resolved settings and paths that every command starts from."""

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
        return cls(load_settings(config_path), locations.data_dir(data_dir), config_path, demo)

    @property
    def store_path(self) -> Path:
        """The demo's store with `--demo`; else the configured one, else the data dir's."""
        if self.demo:
            return self.demo_dir / "thirdbook.db"
        if self.settings.store.path is not None:
            return self.settings.store.path.expanduser()
        return locations.store_file(self.data_dir)

    def store_write_refusal(self) -> str | None:
        """Why this process cannot write the store (read-only media, a directory that is not
        this user's); None when it can."""
        return write_refusal(self.store_path)

    @property
    def demo_dir(self) -> Path:
        """Where `thirdbook demo` keeps its estate, logs and store."""
        return locations.demo_dir(self.data_dir)

    def containment(self) -> ContainmentConfig:
        """What the serving layer reads; with --demo, the demo's own control files."""
        if not self.demo:
            return self.settings.containment
        control = self.demo_dir / "control"
        return self.settings.containment.model_copy(
            update={
                "registry": control / "registry.json",
                "flag_file": control / "killswitch.flagd.json",
            }
        )

    def runbooks(self) -> RunbookLibrary:
        """The shipped runbooks under one's own: the configured directory, else `runbooks`
        beside the config file; the demo keeps its own beside its store."""
        shipped = locations.shipped_dir("runbooks")
        if self.demo:
            return RunbookLibrary(self.demo_dir / "runbooks", shipped)
        own = self.settings.console.runbooks_dir
        user = own.expanduser() if own else locations.user_runbooks_dir(self.config_path)
        return RunbookLibrary(user, shipped)
