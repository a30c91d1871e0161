"""Containment's steps on control files, as refusals and failures the console can say.

A control file (`thirdbook.control_file`) that is not what it says is a refusal: nothing was
read or written. An OSError on the way is a failure, audited as failed: the old file stands.
Both are one sentence naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from thirdbook.actuators.config_write import ConfigConflictError
from thirdbook.actuators.rollback import parse_registry
from thirdbook.control_file import ControlFileIOError, ControlFileRefusedError, read_control
from thirdbook.domain.control import Registry
from thirdbook.domain.errors import ActionFailedError, RollbackRefusedError, TriageRefusedError

# `explain` reads the registry through `registry_at`, and needs neither of these.
if TYPE_CHECKING:
    from thirdbook.domain.incidents import TimelineEntry

T = TypeVar("T")

_KILL_NOTE = re.compile(
    r"kill switch: (?P<model>.+?) routed to (?P<route>\w+) .*?; file sha256 "
    r".*?(?:; previous file kept as sha256:(?P<kept>[0-9a-f]{64}))?$"
)
"""A kill-switch note on the timeline that names the file written (and what it kept)."""


async def control(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a control-file step in a thread; what it refuses is a refusal (nothing was
    written), an OSError on the way a failure (the old file stands), each a sentence."""
    import asyncio

    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except ControlFileIOError as exc:
        raise ActionFailedError(str(exc)) from exc
    except (ConfigConflictError, ControlFileRefusedError, ValueError) as exc:
        raise TriageRefusedError(str(exc)) from exc


def named(target: Path, configured: Path) -> str:
    """The file written, and the link it was reached through (when it was)."""
    return str(target) if target == configured else f"{target} (the link {configured} points at it)"


def registry_at(path: Path) -> Registry:
    """The registry in the control file at `path` (a refusal when there is none)."""
    data = read_control(path)
    if data is None:
        raise RollbackRefusedError(f"there is no registry at {path}")
    try:
        return parse_registry(data)
    except ValueError as exc:
        raise RollbackRefusedError(f"{path} is not a valid registry now: {exc}") from exc


def first_kill_kept(timeline: list[TimelineEntry], model: str) -> str | None:
    """The hash of the flag file kept as evidence by the incident's first kill of `model`
    that wrote the file; None when there was none or the file did not exist then."""
    for entry in timeline:
        found = _KILL_NOTE.match(entry.detail) if entry.kind == "containment" else None
        if found is not None and found["model"] == model and found["route"] != "model":
            return found["kept"]
    return None
