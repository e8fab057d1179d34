"""The fuzzy code picker: type words, see matching codes with their definitions, Enter to choose.

Why a modal of its own: choosing a code is the most frequent act of coding. Every typed word is matched on
its own (``app.tui.fuzzy``), definitions are shown so the right code is chosen, and a code that does not
exist yet can be created from here without leaving the transcript.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from app.tui.fuzzy import rank_codes
from app.tui.screens.base import Palette
from models.workspace_queries import CodeInfo

NEW_ID = "__new__"


@dataclass(frozen=True)
class Picked:
    """The picker's answer: an existing code id, or a path for a new code."""

    code_id: int | None = None
    new_path: str | None = None


def code_prompt(code: CodeInfo, with_definition: bool = True) -> Text:
    text = Text()
    text.append("█ ", style=code.colour)
    text.append(code.path, style="bold")
    if with_definition and code.definition:
        definition = code.definition.strip().splitlines()[0]
        if len(definition) > 110:
            definition = definition[:109] + "…"
        text.append("\n   " + definition, style="dim")
    return text


class CodePicker(ModalScreen[Picked | None]):
    """Choose a code (or create one) by typing words in any order."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("down", "cursor(1)", "Next", show=False),
        Binding("up", "cursor(-1)", "Previous", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("ctrl+n", "create", "Create new code"),
    ]

    def __init__(
        self, codes: list[CodeInfo], title: str = "Apply code", allow_new: bool = True, exclude: set[int] | None = None
    ) -> None:
        super().__init__()
        self.codes = [c for c in codes if not c.archived and c.id not in (exclude or set())]
        self.title_text = title
        self.allow_new = allow_new

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide dialog-tall", id="code-picker"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(placeholder="Type words of a code name or definition, in any order", id="picker-input")
            yield OptionList(id="picker-options")
            keys = "↑↓ choose · Enter apply · Esc cancel"
            if self.allow_new:
                keys += " · ctrl+n create a new code (Theme/Sub/Code)"
            yield Static(keys, classes="dialog-keys")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        ranked = rank_codes(query, self.codes)
        items: list[Option] = [Option(code_prompt(c), id=str(c.id)) for c in ranked]
        typed = query.strip()
        exact = any(c.path.casefold() == typed.casefold() for c in self.codes)
        if self.allow_new and typed and not exact:
            new = Text.assemble(("+ Create new code ", f"bold {Palette.of(self.app).good}"), (f"“{typed}”", "bold"))
            items.append(Option(new, id=NEW_ID))
        options.add_options(items)
        if items:
            options.highlighted = 0

    @on(Input.Changed, "#picker-input")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is None:
            if self.allow_new and event.value.strip():
                self.dismiss(Picked(new_path=event.value.strip()))
            return
        self._choose(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected, "#picker-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        if option_id == NEW_ID:
            self.action_create()
        elif option_id is not None:
            self.dismiss(Picked(code_id=int(option_id)))

    def action_cursor(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(options.option_count - 1, current + delta))

    def action_create(self) -> None:
        typed = self.query_one(Input).value.strip()
        if not typed:
            self.notify("Type the new code's name first (Theme/Sub/Code makes parents too)", severity="warning")
            return
        self.dismiss(Picked(new_path=typed))
