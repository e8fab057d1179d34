"""The workspace's key bar: Textual's ``Footer`` in its compact style, styled once per key.

Why: a compact ``Footer`` makes each key widget, mounts it, and only then marks it compact (a watcher of the
key's bound ``compact`` reactive adds the ``-compact`` class), which restyles every key a second time, with
the whole stylesheet, on every recompose (the footer recomposes when a screen opens and whenever focus
moves). Marking the keys compact as they are made gives the same classes, so the same look, styled once:
opening a transcript spent a third of its time there.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyBar(Footer):
    """``Footer(compact=True)`` whose keys are made with the ``-compact`` class already set."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.set_class(True, "-compact", update=False)
            yield widget
