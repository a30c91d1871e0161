"""What the screens and panels need from the app, without importing it (the app imports
them): the services once the store is open, and whether the console is stopping."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from thirdbook.services.factory import Services


class ConsoleHost(Protocol):
    """The console app, as its screens and panels see it."""

    console_service: Services | None
    stop: asyncio.Event


def host(node: DOMNode) -> ConsoleHost:
    """The app a screen or widget runs in, as a `ConsoleHost`."""
    return cast(ConsoleHost, node.app)


def services(node: DOMNode) -> Services | None:
    """The console's services (None until the store is open, or once it is closing)."""
    app = host(node)
    return None if app.stop.is_set() else app.console_service


def closing(node: DOMNode) -> bool:
    """Whether the console is closing (stopping, or Textual shutting it down): a refresh
    already on its way may then find its widgets gone or the store closed."""
    app = node.app
    return host(node).stop.is_set() or not app.is_running or not app.screen_stack
