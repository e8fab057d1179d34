"""Command palette providers: codes by name (retrieve one, or apply it to the selection while coding).

Textual's own matcher treats spaces literally, so code names are matched with ``app.tui.fuzzy`` (each typed
word on its own); the palette then offers the actions that make sense on the current screen.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from app.tui.fuzzy import rank_codes, score

if TYPE_CHECKING:
    from app.tui.app import WaveqdaApp


class CodeCommands(Provider):
    """``Retrieve Support/Peer`` everywhere; ``Apply Support/Peer`` in the transcript coder."""

    @property
    def wq(self) -> WaveqdaApp:
        return cast("WaveqdaApp", self.app)

    def _actions(self):  # type: ignore[no-untyped-def]
        from app.tui.screens.coder import CoderScreen

        screen = self.screen
        actions = [("Retrieve", "See every segment of this code", self.wq.retrieve_code)]
        if isinstance(screen, CoderScreen):
            actions.insert(
                0,
                ("Apply", "Code the selection (or the sentence at the caret)", lambda code_id: screen.apply([code_id])),
            )
        return actions

    async def discover(self) -> Hits:
        for verb, help_text, run in self._actions():
            for code in list(self.wq.codes().values())[:30]:
                if not code.archived:
                    yield DiscoveryHit(f"{verb} {code.path}", partial(run, code.id), help=help_text)

    async def search(self, query: str) -> Hits:
        words = query.split()
        verbs = {"apply", "code", "retrieve", "find"}
        wanted = [w for w in words if w.casefold() not in verbs]
        if not wanted:
            return
        text = " ".join(wanted)
        codes = [c for c in rank_codes(text, self.wq.codes().values(), limit=20) if not c.archived]
        for verb, help_text, run in self._actions():
            if words and words[0].casefold() in verbs and not verb.casefold().startswith(words[0][:3].casefold()):
                continue
            for code in codes:
                label = Text.assemble((f"{verb} ", "bold"), ("█ ", code.colour), code.path)
                yield Hit(
                    min(1.0, score(text, code.path, code.definition) / 105),
                    label,
                    partial(run, code.id),
                    text=f"{verb} {code.path}",
                    help=help_text,
                )
