"""The side panel of the coder: the codes at the caret, with definitions, coders, memos and key quotes.

Why a fixed-size box that redraws only when the set of codings changes: re-laying out the screen is the most
costly thing a caret step could trigger; the transcript view posts ``CursorMoved`` only on such changes and
the panel's size never depends on its text (long lists are cut at the bottom).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from models.workspace_queries import CodeInfo, CodingRow


def panel_text(
    codings: list[CodingRow], codes: dict[int, CodeInfo], coders: dict[int, str], transcript_memo: str = ""
) -> Text:
    text = Text()
    if not codings:
        text.append("No codes here\n", style="bold")
        text.append("Select text (shift+↓ by sentence, or drag) and press c to code it.\n", style="dim")
    else:
        text.append(f"Codes here ({len(codings)})\n", style="bold")
    for c in codings:
        info = codes.get(c.code_id)
        text.append("\n█ ", style=info.colour if info else "#888888")
        text.append(info.path if info else f"code #{c.code_id}", style="bold")
        if info and info.archived:
            text.append(" (archived)", style="italic dim")
        if c.key_quote:
            text.append(" ★ key quote", style="bold yellow")
        text.append(f"\n  by {coders.get(c.coder_id, '?')} · {c.start}:{c.end}\n", style="dim")
        if c.memo:
            text.append("  ✎ " + c.memo.strip().replace("\n", " ")[:200] + "\n", style="italic")
        if info and info.definition:
            text.append("  " + info.definition.strip()[:300] + "\n", style="dim")
    if transcript_memo:
        text.append("\nTranscript memo\n", style="bold")
        text.append(transcript_memo.strip()[:400] + "\n", style="italic")
    return text


class CodesPanel(Static):
    """The codes-at-caret text in a fixed-size box: updating it never re-lays out the screen."""

    def show(self, codings: list[CodingRow], codes: dict[int, CodeInfo], coders: dict[int, str],
             transcript_memo: str = "") -> None:
        self.text = panel_text(codings, codes, coders, transcript_memo)
        self.update(self.text, layout=False)
