"""The errors a person at the terminal is shown, each with a message that says why.

They live here, below every layer, so the console and the command line can tell a refusal
from a failure without importing the store, the evidence or the actuators that raise them.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the file, key and reason
    (raised by `thirdbook.config`, which also exports it)."""


class TriageRefusedError(Exception):
    """The action cannot be done as asked; the message says why."""


class ActionFailedError(TriageRefusedError):
    """An action was tried and did not (wholly) work, e.g. a hook failed: audited as failed,
    shown like a refusal with its reason."""


class RollbackRefusedError(ValueError):
    """The rollback cannot be done as asked; the message says why."""


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class NetworkFilesystemError(StoreError):
    """The store path is on a network filesystem, where WAL is unsafe."""


class StoreBusyError(StoreError):
    """Another process kept the write lock for longer than we are willing to wait."""


class StoreClosedError(StoreError):
    """The store was closed (the console is shutting down) before this query could run."""


class StoreReadOnlyError(StoreError):
    """The store cannot be written by this process (read-only media, or not this user's)."""


class LeaseHeldError(Exception):
    """Another live process holds the ingest lease."""


class BundleError(ValueError):
    """The bundle cannot be read safely (a path escapes its folder, a link, not a tar.gz)."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read; the message says why."""
