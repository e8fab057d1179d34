"""The workspace's key bar: Textual's ``Footer`` in its compact style, styled once per key, built once per
change of bindings.

Why: a compact ``Footer`` makes each key widget, mounts it, and only then marks it compact (a watcher of the
key's bound ``compact`` reactive adds the ``-compact`` class), which restyles every key a second time, with
the whole stylesheet, on every recompose. And it recomposes once per bindings signal, which comes twice
when a screen opens (its bindings, then the focused widget's). Marking the keys compact as they are made
gives the same classes, so the same look, styled once; one recompose after the signals of a refresh reads
the same bindings as the last of two would. Opening a transcript spent a third of its time here.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyBar(Footer):
    """``Footer(compact=True)`` whose keys are made with the ``-compact`` class already set."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._recompose_pending = False

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.set_class(True, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._recompose_pending:
            self._recompose_pending = True
            self.call_after_refresh(self._recompose_once)

    async def _recompose_once(self) -> None:
        self._recompose_pending = False
        await self.recompose()
