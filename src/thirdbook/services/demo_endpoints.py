"""Where the demo's replay points: the base URLs the running demo's model server wrote."""

from __future__ import annotations

from pathlib import Path

import orjson
from pydantic import ValidationError

from thirdbook import locations
from thirdbook.config import ReplayEndpointConfig, Settings


def demo_replay_settings(settings: Settings, data_dir: Path) -> Settings:
    """The demo's settings: with no replay endpoints configured, replay is pointed at the
    running demo's model server (the base URLs it wrote; none when no demo is running)."""
    if settings.replay.endpoints:
        return settings
    path = locations.demo_endpoints_file(data_dir)
    try:
        written = orjson.loads(path.read_bytes())
        endpoints = {
            str(version): ReplayEndpointConfig(url=str(entry["url"]))
            for version, entry in written.items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ValidationError):
        return settings
    replay = settings.replay.model_copy(update={"endpoints": endpoints})
    return settings.model_copy(update={"replay": replay})
