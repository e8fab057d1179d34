"""The side panel of the coder: the codes at the caret, with definitions, coders, memos and key quotes.

Why a fixed-size box that redraws only the lines that changed: re-laying out the screen is the most costly
thing a caret step could trigger, and repainting every line of a tall panel (each through Textual's border,
padding and filter pass) cost more than drawing the transcript rows a page down brings. The transcript view
posts ``CursorMoved`` only when the codings at the caret change, the panel's size never depends on its text
(long lists are cut at the bottom), and a new text repaints only the lines that differ from the old one.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget

from models.comments import Comment
from models.workspace_queries import CodeInfo, CodingRow


def panel_text(
    codings: list[CodingRow],
    codes: dict[int, CodeInfo],
    coders: dict[int, str],
    transcript_memo: str = "",
    mark: str = "bold",  # the style of the key-quote star: the theme's warning colour, from the widget
    comments: dict[int, list[Comment]] | None = None,  # memos attached to codings (comments from the site)
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
            text.append(" ★ key quote", style=mark)
        text.append(f"\n  by {coders.get(c.coder_id, '?')} · {c.start}:{c.end}\n", style="dim")
        if c.memo:
            text.append("  ✎ " + c.memo.strip().replace("\n", " ")[:200] + "\n", style="italic")
        for comment in (comments or {}).get(c.id, []):
            flat = " ".join(comment.text.split())[:200]
            text.append(f"  ↳ {comment.author or 'someone'} commented: {flat}\n", style="italic")
        if info and info.definition:
            text.append("  " + info.definition.strip()[:300] + "\n", style="dim")
    if transcript_memo:
        text.append("\nTranscript memo\n", style="bold")
        text.append(transcript_memo.strip()[:400] + "\n", style="italic")
    return text


class CodesPanel(Widget):
    """The codes-at-caret text in a fixed-size box: updating it never re-lays out the screen.

    Drawn as a ``Static`` would draw the same text (the same ``Visual.to_strips``), but kept as rendered
    lines: ``show`` compares the new lines with the old and repaints only those that differ. Anything else
    that changes the drawing (size, theme, a text selection) is noticed in ``render_line`` by its key.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(Widget.auto_links, False)  # the text has no links: skip restyling every line for them
        self.text = Text()
        self._visual: Visual | None = None
        self._lines: list[Strip] = []
        self._lines_key: tuple[object, ...] | None = None
        self._in_pass = False

    def render(self) -> Visual:
        if self._visual is None:
            self._visual = visualize(self, self.text)
        return self._visual

    def _key(self) -> tuple[object, ...]:
        return (self.size, self.visual_style, self.text_selection)

    def _render_all(self) -> list[Strip]:
        width, height = self.size
        visual = self.render()
        if self.text.plain.count("\n") >= height:
            # Many codes here: only the first ``height`` lines can show (each takes a row at least), and
            # wrapping the rest cost more than drawing the panel. Lines wrap on their own, so the rows
            # drawn are the same.
            lines = self.text.split("\n", allow_blank=True)
            visual = visualize(self, Text("\n").join(lines[:height]))
        return Visual.to_strips(self, visual, width, height, self.visual_style)

    def render_lines(self, crop: Region) -> list[Strip]:
        key = self._key()  # once per pass, not per line (each part is a lookup through the DOM)
        if key != self._lines_key:
            self._lines = self._render_all()
            self._lines_key = key
        self._in_pass = True
        try:
            return super().render_lines(crop)
        finally:
            self._in_pass = False

    def render_line(self, y: int) -> Strip:
        if not self._in_pass:
            key = self._key()
            if key != self._lines_key:
                self._lines = self._render_all()
                self._lines_key = key
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self._lines_key[0].width, self.visual_style.rich_style)  # type: ignore[index]

    def show(
        self,
        codings: list[CodingRow],
        codes: dict[int, CodeInfo],
        coders: dict[int, str],
        transcript_memo: str = "",
        comments: dict[int, list[Comment]] | None = None,
    ) -> None:
        warning = self.app.current_theme.warning
        mark = f"bold {warning}" if warning else "bold"
        text = panel_text(codings, codes, coders, transcript_memo, mark, comments)
        if text == self.text and self._lines_key is not None:
            return
        self.text = text
        self._visual = None
        if not self.is_mounted or self._lines_key is None or self._lines_key != self._key():
            self._lines_key = None
            self.refresh()
            return
        old, new = self._lines, self._render_all()
        self._lines = new
        width = self.size.width
        y, count = 0, max(len(old), len(new))
        while y < count:  # repaint runs of changed lines
            if y < len(old) and y < len(new) and old[y] == new[y]:
                y += 1
                continue
            first = y
            while y < count and not (y < len(old) and y < len(new) and old[y] == new[y]):
                y += 1
            self.refresh(Region(0, first, width, y - first))
