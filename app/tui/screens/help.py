"""The help screen (? or F1): every key binding of every area, generated from the bindings themselves.

Why generated: a hand-written list drifts from the code; this one cannot. Users who are new to terminals
start here, so it also says in plain words how coding works.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


def intro() -> str:
    """How the workspace works, with the area keys taken from the areas themselves."""
    from app.tui.screens.base import AREAS
    from app.tui.screens.dialogs import area_letters

    letters = area_letters(AREAS)
    first, last = AREAS[0][1], AREAS[-1][1]
    areas = ", ".join(f"{label} {fkey} or ctrl+g {letters[key]}" for key, fkey, label in AREAS)
    return (
        "waveqda keeps every change at once: closing the terminal loses nothing, and ctrl+z undoes your last "
        f"change (ctrl+y redoes). Move between areas with {first}–{last}, or ctrl+g then a letter: {areas}. "
        "ctrl+p opens the command palette, where every action can be found by name; ctrl+q quits.\n\n"
        "Coding: open an interview from Home (Enter). Move the caret by sentence (↓ ↑ or j k), word (← → or "
        "h l) or turn ([ ]). Select with shift (shift+↓ twice selects two sentences) or with the capital "
        "letters J K H L and { } for turns, or drag with the mouse (it snaps to whole sentences; hold ctrl "
        "or press e for exact characters). Press c to choose a code by typing any words of its name; 1–9 "
        "apply recent codes and . repeats the last one; i lists the codings on the caret's line (or click "
        "the stripes).\n\n"
        "macOS: Terminal sends no function keys unless 'Use F1, F2, etc. keys as standard function keys' is "
        "on (or press fn with them), and no shift+arrows by default: use ctrl+g for areas, ? for help, "
        "J K H L { } to select, ctrl+d / ctrl+u to select a page. GNOME Terminal takes F1 and F10 "
        "itself: use ? and ctrl+g."
    )


def _sections() -> list[tuple[str, list[Binding]]]:
    from app.tui.app import WaveqdaApp
    from app.tui.screens.agreement import AgreementScreen
    from app.tui.screens.cases import CasesScreen
    from app.tui.screens.code_picker import CodePicker
    from app.tui.screens.codebook import CodebookScreen
    from app.tui.screens.coder import CoderScreen
    from app.tui.screens.compare import CompareScreen
    from app.tui.screens.export_dialog import ExportDialog
    from app.tui.screens.home import HomeScreen
    from app.tui.screens.matrix import MatrixScreen
    from app.tui.screens.names_review import NamesReviewScreen
    from app.tui.screens.retrieve import RetrieveScreen
    from app.tui.screens.search import SearchScreen
    from app.tui.widgets.transcript_view import TranscriptView

    def b(cls: type) -> list[Binding]:
        return [x for x in cls.BINDINGS if isinstance(x, Binding)]

    recent = [x for x in b(CoderScreen) if x.action.startswith("recent")]
    coder = [x for x in b(CoderScreen) if not x.action.startswith("recent")]
    if recent:
        coder.append(Binding("1,2,3,4,5,6,7,8,9", "recent", "Apply recent code 1–9"))
    return [
        ("Everywhere", b(WaveqdaApp) + [Binding("ctrl+p", "command_palette", "Command palette")]),
        ("Home", b(HomeScreen)),
        ("Transcript: moving and selecting", b(TranscriptView)),
        ("Transcript: coding", coder),
        ("Code picker", b(CodePicker)),
        ("Codebook", b(CodebookScreen)),
        ("Retrieve", b(RetrieveScreen)),
        ("Compare timepoints", b(CompareScreen)),
        ("Matrix coding (Compare, m)", b(MatrixScreen)),
        ("Search", b(SearchScreen)),
        ("Names review", b(NamesReviewScreen)),
        ("Intercoder agreement", b(AgreementScreen)),
        ("Cases (participants × attributes)", b(CasesScreen)),
        ("Export dialog", b(ExportDialog)),
    ]


def _keys(binding: Binding) -> str:
    names = {
        "question_mark": "?",
        "slash": "/",
        "full_stop": ".",
        "asterisk": "*",
        "less_than_sign": "<",
        "right_square_bracket": "]",
        "left_square_bracket": "[",
        "right_curly_bracket": "}",
        "left_curly_bracket": "{",
        "space": "space",
        "escape": "esc",
        "delete": "del",
    }
    out = []
    for key in binding.key.split(","):
        key = key.strip()
        out.append(names.get(key, key))
    return ", ".join(out)


def help_table() -> Group:
    """One small table per area, each titled, so long area names are never cut."""
    tables = []
    for title, bindings in _sections():
        table = Table(
            box=None,
            expand=True,
            show_header=False,
            pad_edge=False,
            title=title,
            title_justify="left",
            title_style="bold underline",
        )
        table.add_column("Key", style="bold", no_wrap=True, width=30)
        table.add_column("Does", ratio=1)
        for binding in bindings:
            table.add_row(_keys(binding), binding.description or binding.action)
        tables.append(table)
        tables.append(Text(""))
    return Group(*tables)


class HelpScreen(ModalScreen[None]):
    """Every binding, by area."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss(None)", "Close help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("waveqda — keys and how coding works", style="bold"), id="help-title")
            yield Static(intro(), id="help-intro")
            yield Static(help_table(), id="help-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
