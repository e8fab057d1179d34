"""Small modal dialogs: confirm, one-line prompt, memo editor, pick one of a list.

Each is a ``ModalScreen[T]`` dismissed with its answer (None when cancelled), so callers use
``push_screen(dialog, callback)`` or ``await push_screen_wait`` and never block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from models.errors import WaveqdaError


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no before anything that is hard to take back in one's head (merge, archive, delete)."""

    BINDINGS = [
        Binding("escape,n", "dismiss(False)", "Cancel"),
        Binding("y", "dismiss(True)", "Yes"),
    ]

    def __init__(self, question: str, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error" if self.danger else "primary")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextPrompt(ModalScreen[str | None]):
    """One line of text (a name, a path, a colour); Enter accepts, Escape cancels.

    ``validate`` (optional) turns the typed text into the value to return, or raises ``WaveqdaError`` with
    a one-line reason, shown in the dialog (which stays open)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self,
        title: str,
        value: str = "",
        placeholder: str = "",
        help_text: str = "",
        validate: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.help_text = help_text
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help")
            yield Static("Enter to accept · Esc to cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#prompt-error", Static).display = False
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            return
        if self.validate is not None:
            try:
                value = self.validate(value)
            except WaveqdaError as exc:
                error = self.query_one("#prompt-error", Static)
                error.update(str(exc))
                error.display = True
                return
        self.dismiss(value)


class MemoDialog(ModalScreen[str | None]):
    """A multi-line memo; Ctrl+S (or the Save button) keeps it, Escape discards the edit."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save memo"),
        Binding("escape", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, title: str, text: str = "", context: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide memo-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            # the keys come before the text box, so a short terminal never hides how to save
            yield Static("ctrl+s saves the memo · Esc cancels the edit", classes="dialog-keys memo-keys")
            if self.context:
                yield Static(self.context, classes="dialog-help memo-context")
            yield TextArea(self.text, id="memo-text", soft_wrap=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one item from a short list (which coding under the caret, which parent...)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str, object]]) -> None:
        """``choices`` are ``(id, prompt)`` pairs; the prompt may be Rich text."""
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*[Option(prompt, id=key) for key, prompt in self.choices], id="choices")
            yield Static("↑↓ choose · Enter select · Esc cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class MessageDialog(ModalScreen[None]):
    """A longer message (import errors, trajectories) that the user reads and closes."""

    BINDINGS = [Binding("escape,enter,q", "dismiss(None)", "Close")]

    def __init__(self, title: str, body: object) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll

        with Vertical(classes="dialog dialog-wide dialog-tall"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self.body, classes="dialog-text")  # type: ignore[arg-type]
            yield Static("Enter or Esc to close", classes="dialog-keys")


class GoToDialog(ModalScreen[str | None]):
    """Every area by one letter (or its function key's number: 4 for F4), for keyboards and terminals
    without usable function keys."""

    def __init__(self, areas: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.areas = list(areas)
        self.letters = area_letters(self.areas)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Go to…", classes="dialog-title")
            choices = [Option(f"{self.letters[key]}  {label}  ({fkey})", id=key) for key, fkey, label in self.areas]
            yield OptionList(*choices, id="goto-choices")
            yield Static("A letter, or ↑↓ and Enter · Esc cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.dismiss(None)
            return
        for key, fkey, _label in self.areas:
            if event.character and event.character.lower() in (self.letters[key], fkey[1:]):
                event.stop()
                self.dismiss(key)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


def area_letters(areas: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Each area's letter: the first letter of its name not taken by an earlier area (Compare gets "o")."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for key, _fkey, label in areas:
        letter = next((ch for ch in label.lower() if ch.isalpha() and ch not in taken), key[0])
        taken.add(letter)
        out[key] = letter
    return out
