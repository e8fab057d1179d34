"""What every workspace screen shares: the area bar at the top and refreshing after changes.

Why a version number: any change (a coding, an undo, a rename) can alter what another screen shows. The app
bumps ``data_version`` after each change; the visible screen reloads at once, the others when they are next
shown. That keeps every screen truthful without screens knowing about each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

if TYPE_CHECKING:
    from app.tui.app import WaveqdaApp

AREAS = [
    ("home", "F2", "Home"),
    ("codebook", "F3", "Codebook"),
    ("retrieve", "F4", "Retrieve"),
    ("compare", "F5", "Compare"),
    ("search", "F6", "Search"),
    ("names", "F7", "Names"),
    ("agreement", "F8", "Agreement"),
    ("cases", "F10", "Cases"),
]
SHORT_LABELS = {"codebook": "Codes", "retrieve": "Retr", "compare": "Comp", "agreement": "Agree"}


class NavBar(Static):
    """The areas of the workspace with their keys, the current one highlighted, and who is coding."""

    def __init__(self, current: str, detail: str = "") -> None:
        super().__init__(id="nav")
        self.current = current
        self.detail = detail

    def on_mount(self) -> None:
        self.update_bar()

    def on_resize(self) -> None:
        self.update_bar()

    def update_bar(self, detail: str | None = None) -> None:
        """Full area names when they fit beside the coder; shorter, then tighter, then keys only (the current
        area always named). What is open (``detail``) comes last and is cut first."""
        if detail is not None:
            self.detail = detail
        width = self.size.width or self.app.size.width
        for labels in ("full", "short", "tight", "keys"):
            text = self._areas(labels)
            text.append_text(self._coder(labels))
            if text.cell_len <= width:
                break
        if self.detail:
            text.append(f"  {self.detail}", style="bold")
        self.update(text)

    def _areas(self, labels: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        pad = "" if labels == "tight" else " "
        for key, fkey, label in AREAS:
            current = key == self.current
            style = "reverse bold" if current else ""
            text.append(f"{pad}{fkey} ", style="bold " + style)
            if current or labels == "full":
                text.append(f"{label}{pad}", style=style)
            elif labels in ("short", "tight"):
                text.append(f"{SHORT_LABELS.get(key, label)}{pad}", style=style)
            text.append("│", style="dim")
        return text

    def _coder(self, labels: str) -> Text:
        app = cast("WaveqdaApp", self.app)
        coder = getattr(app, "coder", None)
        if not coder:
            return Text(" read-only (no coder)" if labels in ("full", "short") else " read-only", style="bold")
        browser = getattr(app, "browser", None)
        if browser is not None and browser.reader:  # a reader's browser session: changes are refused
            return Text(f" reader: {coder}" if labels == "full" else f" {coder} (reader)", style="bold")
        return Text(f" coder: {coder}" if labels == "full" else f" {coder}", style="dim")


SMALL_WIDTH, SMALL_HEIGHT = 100, 30


def compact_when_small(screen: Screen) -> None:
    """Form controls marked ``fit-compact`` (filter rows, dialog fields) lose their borders on a small
    terminal (80x24): one row each instead of three, so the results or the text keep the room."""
    width, height = screen.app.size
    small = width < SMALL_WIDTH or height < SMALL_HEIGHT
    for widget in screen.query(".fit-compact"):
        if getattr(widget, "compact", small) != small:
            widget.compact = small  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Palette:
    """Rich styles for text drawn in tables and panels, from the current theme's colours (so the
    high-contrast theme changes them too): ``good``/``fair``/``bad`` for bands such as agreement thresholds,
    ``accent`` for names a reader scans for (codes, replacements), ``note`` for a second kind of mark."""

    good: str
    fair: str
    bad: str
    accent: str
    note: str

    @classmethod
    def of(cls, app: App) -> Palette:
        theme = app.current_theme
        fallback = theme.foreground or theme.primary
        return cls(
            good=theme.success or fallback,
            fair=theme.warning or fallback,
            bad=theme.error or fallback,
            accent=theme.accent or theme.secondary or fallback,
            note=theme.secondary or theme.accent or fallback,
        )


class WorkspaceScreen(Screen):
    """A screen that reloads its data when the project changed while it was hidden."""

    AREA = "home"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._seen_version = -1

    @property
    def wq(self) -> WaveqdaApp:
        return cast("WaveqdaApp", self.app)

    def on_resize(self) -> None:
        compact_when_small(self)

    def on_screen_resume(self) -> None:
        compact_when_small(self)
        if self._seen_version != self.wq.data_version:
            self._seen_version = self.wq.data_version
            self.refresh_data()
        for bar in self.query(NavBar):
            bar.update_bar()

    def data_changed(self) -> None:
        """Called by the app on the visible screen after any change."""
        self._seen_version = self.wq.data_version
        self.refresh_data()

    def refresh_data(self) -> None:
        """Reload what this screen shows from the project (override)."""
