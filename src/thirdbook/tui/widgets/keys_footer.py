"""The main screen's footer: Textual's own, redrawn only when the keys it shows change.

Textual's footer rebuilds all its keys (a widget each, styled anew) every time a screen's
bindings are refreshed, and the main screen refreshes them often: at each resize, focus move
and change of the active incident, several times before the first frame alone. Here the
refreshes that arrive together make one look, and a look that finds the same keys as shown
rebuilds nothing."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[object, ...], ...]


class KeysFooter(Footer):
    """A footer that rebuilds its keys only when they differ from those it shows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._looking = False
        self._shown: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        """The screen's bindings may have changed: look once, after this refresh."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._looking:
            self._looking = True
            self.call_after_refresh(self._look)

    async def _look(self) -> None:
        self._looking = False
        if not self.is_attached:
            return
        shown = self._keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys(self) -> Shown:
        """All that `compose` reads of the active bindings: for each, its key, how it is
        displayed, its description, action, group, whether it shows and is enabled, and its
        tooltips."""
        return tuple(
            (
                key,
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                None if binding.group is None else repr(binding.group),
                binding.show,
                enabled,
                tooltip,
                binding.tooltip,
            )
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
        )
