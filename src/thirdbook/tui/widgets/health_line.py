"""The ingest health line: events/s, lag, rejects, sources, who ingests, pauses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.one_line import show_line

if TYPE_CHECKING:
    from thirdbook.services.health import Health


def human_size(n: int) -> str:
    """Bytes as B, KB, MB or GB."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return f"{n} B"


def health_text(health: Health) -> Text:
    """The health line's text (also used by tests)."""
    text = Text()
    if health.paused_reason:
        text.append(" INGEST PAUSED ", style="bold reverse")
        text.append(" ")
        text.append_text(safe(health.paused_reason, 120))
        text.append("  ")
    text.append(f"events {health.events_total:,}")
    text.append(f" · {health.events_per_s:,.0f}/s")
    if health.parse_fallback:  # slower, so said early; the ingest notes say why
        text.append(" · parsing in process (workers failed)", style="bold")
    if health.lag_s is not None:
        text.append(f" · lag {health.lag_s:,.1f}s")
    if health.backlog_bytes:
        text.append(f" · backlog {human_size(health.backlog_bytes)}")
    text.append(
        f" · rejects {health.rejects_total:,}", style="bold" if health.rejects_total else ""
    )
    text.append(f" · files {health.files_active}")
    if health.gaps or health.truncations:
        text.append(f" · gaps {health.gaps} truncations {health.truncations}", style="bold")
    if health.ingesting_here:
        text.append(" · ingesting here")
    elif health.lease is not None and health.lease_live:
        text.append(" · ingest: ")
        text.append_text(safe(f"{health.lease.user}@{health.lease.host}", 40))
        text.append(f" pid {health.lease.pid}")
    else:
        text.append(" · nobody is ingesting", style="bold")
    return text


class HealthLine(Static):
    """One line at the bottom of the console."""

    DEFAULT_CSS = """
    HealthLine {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def show(self, health: Health) -> None:
        """Show new figures."""
        show_line(self, health_text(health))
