"""The demo serving layer's view of its control files: read on every request.

A request asks for the current kill switch and registry. The files are stat'ed each time and
parsed again only when they changed; a link is followed (as a flagd provider reads the file
it points at), and anything but a regular file under 1 MiB is refused unread. A file that is
missing, refused or does not validate leaves the last good version in force, as a flagd
provider does, and is reported once.

One flag file routes both the credit model and the support agent (a flag each); the demo's
deploy pipeline moves the registry's `serving` alias at the deploy's time on the demo clock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from thirdbook.atomic import write_atomically
from thirdbook.control_file import (
    ControlFileIOError,
    ControlFileRefusedError,
    read_control,
    target_of,
)
from thirdbook.demo.agent import AGENT
from thirdbook.demo.estate import MODEL, WEIGHTS, Serving
from thirdbook.domain.control import (
    ROUTES,
    FlagdFile,
    RegisteredModel,
    RegisteredVersion,
    Registry,
    route_for,
    routing_flags,
    serving_flag_key,
)
from thirdbook.domain.flag_targeting import evaluate
from thirdbook.domain.records import to_us

M = TypeVar("M", bound=BaseModel)

FLAG_FILE = "killswitch.flagd.json"
REGISTRY_FILE = "registry.json"


def write_json_atomically(path: Path, data: object) -> None:
    """Write JSON so the serving layer never reads a torn file (see `thirdbook.atomic`)."""
    write_atomically(path, (json.dumps(data, indent=2) + "\n").encode())


def initial_registry(now: datetime | None = None) -> Registry:
    """The demo registry: v6 known good and serving (registered months ago), v7 registered
    last week for the deploy; `now` is the demo's start."""
    now = now or datetime.now(UTC)

    def ago(days: float) -> str:
        return (now - timedelta(days=days)).replace(microsecond=0).isoformat()

    return Registry(
        models={
            MODEL: RegisteredModel(
                versions={
                    "v6": RegisteredVersion(
                        weights_hash=WEIGHTS["v6"],
                        known_good=True,
                        registered=ago(105),
                    ),
                    "v7": RegisteredVersion(
                        weights_hash=WEIGHTS["v7"],
                        known_good=False,
                        registered=ago(6.8),
                        note="retrained on Q3 applications",
                    ),
                },
                aliases={"serving": "v6"},
            )
        }
    )


def initial_flags() -> FlagdFile:
    """The kill switch: a flag for the credit model and one for the support agent, both
    routing to the model (the agent acts)."""
    return FlagdFile(flags={**routing_flags(MODEL).flags, **routing_flags(AGENT).flags})


def write_initial_control(control: Path, now: datetime | None = None) -> None:
    """Lay down the kill switch (routing to the model and the agent) and the registry."""
    control.mkdir(parents=True, exist_ok=True)
    write_json_atomically(
        control / FLAG_FILE, initial_flags().model_dump(by_alias=True, mode="json")
    )
    write_json_atomically(
        control / REGISTRY_FILE, initial_registry(now).model_dump(mode="json", exclude_none=True)
    )


def rule_router(flags: FlagdFile | None, model: str) -> Callable[[dict[str, Any]], str] | None:
    """The route of one request for `model`'s flag when it has a targeting rule, as flagd
    resolves it: the variant the rule picks (the default variant when it picks none, or one
    the flag does not have), then that variant's value. None without a rule."""
    key = serving_flag_key(model)
    flag = None if flags is None else flags.flags.get(key)
    rule = None if flag is None else (flag.model_extra or {}).get("targeting")
    if flag is None or flag.state != "ENABLED" or not rule:
        return None
    routes = {n: v for n, v in flag.variants.items() if isinstance(v, str) and v in ROUTES}
    default = routes.get(flag.default_variant, "model")

    def route_of(context: dict[str, Any]) -> str:
        try:
            variant = evaluate(rule, context, key)
        except (ValueError, TypeError, ArithmeticError):  # flagd falls back to the default
            variant = None
        if isinstance(variant, bool):
            variant = str(variant).lower()
        return routes.get(str(variant), default) if variant is not None else default

    return route_of


class _Watched(Generic[M]):
    """A JSON file parsed into a model, again only when its stat changes."""

    def __init__(self, path: Path, model: type[M]) -> None:
        self.path = path
        self.model = model
        self.value: M | None = None
        self.problem: str | None = None
        self._stamp: tuple[int, int, int] | None = None

    def current(self) -> M | None:
        try:
            st = os.stat(self.path)  # a stat never blocks, even on a FIFO
        except FileNotFoundError:
            self.problem = f"{self.path.name} is missing; keeping the last good version"
            return self.value
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                # Read as a serving process does, through a link, but bounded: a FIFO, a
                # device or a huge file is refused unread (`thirdbook.control_file`).
                data = read_control(target_of(self.path, follow=True))
                if data is None:
                    raise FileNotFoundError(self.path)
                self.value = self.model.model_validate_json(data)
                self.problem = None
            except (OSError, ValidationError, ControlFileRefusedError, ControlFileIOError) as exc:
                self.problem = (
                    f"{self.path.name} is not valid ({exc.__class__.__name__}); "
                    "keeping the last good version"
                )
        return self.value


class ControlFiles:
    """The kill switch and registry as the serving layer sees them, request by request."""

    def __init__(self, control: Path) -> None:
        self.flags = _Watched(control / FLAG_FILE, FlagdFile)
        self.registry = _Watched(control / REGISTRY_FILE, Registry)

    def serving(self) -> Serving:
        """The model's route and served version now, and the agent's route; with a
        targeting rule on the model's flag, the route of each request by its attributes."""
        flags = self.flags.current()
        route, agent_route = route_for(flags, MODEL), route_for(flags, AGENT)
        route_of = rule_router(flags, MODEL)
        registry = self.registry.current()
        served = registry.serving(MODEL) if registry else None
        if served is None:
            return Serving(route, "v6", WEIGHTS["v6"], agent_route, route_of)
        version, entry = served
        return Serving(route, version, entry.weights_hash, agent_route, route_of)

    def set_serving_alias(self, model: str, version: str, at: datetime | None = None) -> None:
        """Move the `serving` alias (the demo's deploy pipeline does this) at `at`, the
        deploy's time on the demo clock: the file's time says when, and the console's
        registry history records the move at the file's time."""
        registry = self.registry.current() or initial_registry()
        data = registry.model_dump(mode="json", exclude_none=True)
        data["models"][model]["aliases"]["serving"] = version
        write_json_atomically(self.registry.path, data)
        if at is not None:
            ns = to_us(at) * 1000
            os.utime(self.registry.path, ns=(ns, ns))
