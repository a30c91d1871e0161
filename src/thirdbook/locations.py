"""Every path thirdbook uses, from one place.

The data directory holds the store and the demo; the config directory holds `thirdbook.toml`.
Both follow XDG (through platformdirs) and can be overridden: `--data-dir` or
`THIRDBOOK_DATA_DIR`, `--config` or `THIRDBOOK_CONFIG`.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

import thirdbook

APP_NAME = "thirdbook"
DATA_DIR_ENV = "THIRDBOOK_DATA_DIR"
CONFIG_ENV = "THIRDBOOK_CONFIG"


def data_dir(override: Path | None = None) -> Path:
    """The data directory: the override, else `$THIRDBOOK_DATA_DIR`, else the XDG data dir."""
    if override is not None:
        return override.expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return user_data_path(APP_NAME)


def config_file(override: Path | None = None) -> Path:
    """The config file: the override, else `$THIRDBOOK_CONFIG`, else the XDG config dir's."""
    if override is not None:
        return override.expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return user_config_path(APP_NAME) / "thirdbook.toml"


def store_file(data: Path) -> Path:
    """The SQLite store inside a data directory."""
    return data / "thirdbook.db"


def chosen_store_file(data: Path, configured: Path | None, *, demo: bool) -> Path:
    """The store a command works on: the demo's with `--demo`; else the configured one
    (`[store] path`), else the data directory's."""
    if demo:
        return demo_store_file(data)
    if configured is not None:
        return configured.expanduser()
    return store_file(data)


def demo_dir(data: Path) -> Path:
    """Where the demo estate lives inside a data directory."""
    return data / "demo"


def demo_logs_dir(data: Path) -> Path:
    """Where the demo's serving layer writes its logs."""
    return demo_dir(data) / "logs"


def demo_control_dir(data: Path) -> Path:
    """Where the demo's serving layer reads its kill switch and model registry."""
    return demo_dir(data) / "control"


def shipped_dir(name: str) -> Path:
    """A directory shipped with thirdbook (`runbooks`, `themes`): inside the installed
    package, or at the top of the source tree for an editable install."""
    package = Path(thirdbook.__file__).parent
    installed = package / "shipped" / name
    return installed if installed.is_dir() else package.parents[1] / name


def user_runbooks_dir(config: Path) -> Path:
    """Runbooks of one's own (and edited copies of shipped ones), beside the config file."""
    return config.parent / "runbooks"


def user_themes_dir(config: Path) -> Path:
    """Theme files of one's own, beside the config file."""
    return config.parent / "themes"


def demo_store_file(data: Path) -> Path:
    """The demo's own store, kept apart from any real one."""
    return store_file(demo_dir(data))


def demo_runbooks_dir(data: Path) -> Path:
    """The demo's own runbooks (edited copies of the shipped ones), beside its store."""
    return demo_dir(data) / "runbooks"


def demo_endpoints_file(data: Path) -> Path:
    """Where the running demo's model server writes its base URLs (replay reads them)."""
    return demo_dir(data) / "replay-endpoints.json"


def demo_flag_file(data: Path) -> Path:
    """The kill-switch flag file the demo's serving layer obeys."""
    return demo_control_dir(data) / "killswitch.flagd.json"


def demo_registry_file(data: Path) -> Path:
    """The model registry the demo's serving layer obeys."""
    return demo_control_dir(data) / "registry.json"


def evidence_dir(store: Path) -> Path:
    """The content-addressed evidence objects, beside the store."""
    return store.parent / "evidence"


def evidence_object(evidence: Path, sha256: str) -> Path:
    """Where the evidence object named `sha256` lives under the evidence directory."""
    return evidence / "objects" / sha256[:2] / sha256[2:]


def quarantine_file(store: Path) -> Path:
    """The quarantine list a retrain pipeline checks, beside the store."""
    return store.parent / "quarantine.json"


def exports_dir(store: Path) -> Path:
    """Where the console writes evidence bundles, beside the store."""
    return store.parent / "exports"


def ingest_log(directory: Path) -> Path:
    """The output of a console's helper ingester, in its data (or demo) directory."""
    return directory / "ingest.log"


def crash_dir(data: Path) -> Path:
    """Where tracebacks of unexpected failures go, inside the data directory."""
    return data / "crashes"
