"""The waveqda terminal workspace: the App, its global keys, themes and the one way changes are made.

Why every change goes through ``WaveqdaApp.change``: each domain call is its own committed transaction (the
terminal can close at any moment and nothing is lost); a user's mistake becomes a readable notification, never
a traceback; and after each change every screen learns that the data moved (``data_version``).
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from app.tui import config
from app.tui.commands import CodeCommands
from app.tui.screens.base import AREAS, WorkspaceScreen
from app.tui.screens.home import HomeScreen
from app.tui.served import BrowserSession
from models.errors import StaleError, WaveqdaError
from models.store import ChangeMark, Project, only_own_change
from models.workspace_queries import CodeInfo, code_infos

log = logging.getLogger("waveqda.tui")
T = TypeVar("T")

HIGH_CONTRAST = Theme(
    name="waveqda-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#00FFFF",
    warning="#FFAA00",
    error="#FF5555",
    success="#55FF55",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    dark=True,
    variables={
        "text-muted": "#E0E0E0",
        "footer-key-foreground": "#FFFF00",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "input-selection-background": "#FFFF00 50%",
    },
)
DEFAULT_THEME = "textual-dark"
POLL_SECONDS = 1.0  # how often the workspace looks for other writers' changes (one indexed read)
LISTEN_FALLBACK_SECONDS = 10.0  # with PostgreSQL's notifications, the poll is only a safety net
MAX_RECENT = 9


_imports_frozen = False


def _freeze_imports() -> None:
    """Freeze what the imports made (modules, classes: alive for the whole run) once per process, before
    the app starts, so the collection after the first paint walks only start-up's own objects. Nothing is
    lost: right after the imports a collection finds no garbage to free."""
    global _imports_frozen
    if not _imports_frozen:
        import gc

        gc.freeze()
        _imports_frozen = True


@dataclass(frozen=True)
class Done(Generic[T]):
    """A change that committed, with what the domain function returned (possibly None)."""

    value: T


def coder_name(value: str) -> str:
    """A coder name as typed, trimmed and checked as every stored name is (``models.naming``)."""
    from models.naming import check_name_text

    name = check_name_text(value, "coder name")
    if not name:
        raise WaveqdaError("a coder name cannot be empty")
    return name


def _coder_from_environment() -> str:
    """``WAVEQDA_CODER``, as every command reads it: in a team project each coder sets it once per shell, so
    the workspace codes as them without asking (an unusable value is ignored and the workspace asks)."""
    import os

    try:
        return coder_name(os.environ.get("WAVEQDA_CODER", ""))
    except WaveqdaError:
        return ""


def _steps() -> tuple[Callable[..., Any], ...]:
    """Undo and redo, when ``models.history`` was imported (by the actions, on first use); else none ran."""
    import sys

    history = sys.modules.get("models.history")
    return () if history is None else (history.undo, history.redo)


def coding_windows_of_step(session: Any, event: Any) -> dict[int, tuple[int, int]] | None:
    from models.history import coding_windows

    return coding_windows(session, event)


def _screen(module: str, name: str) -> Screen:
    import importlib

    return getattr(importlib.import_module(f"app.tui.screens.{module}"), name)()


class WaveqdaApp(App[None]):
    """Home, transcript coder, codebook, retrieve, compare and search over one open project."""

    CSS_PATH = "waveqda.tcss"
    TITLE = "waveqda"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {CodeCommands}

    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+g", "go_to", "Go to…", key_display="^g"),
        Binding("f2", "go('home')", "Home", show=False),
        Binding("f3", "go('codebook')", "Codebook", show=False),
        Binding("f4", "go('retrieve')", "Retrieve", show=False),
        Binding("f5", "go('compare')", "Compare", show=False),
        Binding("f6", "go('search')", "Search", show=False),
        Binding("f7", "go('names')", "Names", show=False),
        Binding("f8", "go('agreement')", "Agreement", show=False),
        Binding("f10", "go('cases')", "Cases", show=False),
        Binding("ctrl+e", "export", "Export…", key_display="^e"),
        Binding("ctrl+z", "undo", "Undo", key_display="^z"),
        Binding("ctrl+y", "redo", "Redo", show=False),
        Binding("f9", "toggle_contrast", "High contrast", show=False),
        # priority: quits from every screen and dialog, the first-run "Who is coding?" prompt included
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    # Areas other than Home are imported when first shown: they pull in the query and codebook modules,
    # which the launch to an interactive home screen (budget 0.6 s) does not need. The app starts in the
    # home mode itself (not in Textual's default mode, then switched): that parses the styles once, not
    # three times.
    DEFAULT_MODE = "home"
    MODES = {
        "home": HomeScreen,
        "codebook": lambda: _screen("codebook", "CodebookScreen"),
        "retrieve": lambda: _screen("retrieve", "RetrieveScreen"),
        "compare": lambda: _screen("compare", "CompareScreen"),
        "search": lambda: _screen("search", "SearchScreen"),
        "names": lambda: _screen("names_review", "NamesReviewScreen"),
        "agreement": lambda: _screen("agreement", "AgreementScreen"),
        "cases": lambda: _screen("cases", "CasesScreen"),
    }

    def __init__(
        self,
        project: Project,
        coder: str | None = None,
        project_path: Path | str | None = None,
        config_dir: Path | None = None,
        remember: bool = True,
        browser: BrowserSession | None = None,
    ) -> None:
        super().__init__()
        self.project = project
        # In a browser session of `waveqda serve` the login is the coder, fixed, and a reader changes nothing.
        self.browser = browser
        if browser is not None:
            coder, remember = browser.account, False
            project.refuse_writes = browser.refusal()
        project.checkpoint_every_s = 0  # each change made at the keyboard is in the project file at once
        self.project_path = project_path or project.path
        self.config_dir = config_dir
        self.remember = remember
        self.coder = coder or _coder_from_environment() or config.remembered_coder(self.project_path, config_dir) or ""
        project.viewer = self.coder  # blind-coded transcripts show this coder's own codings (none while unnamed)
        if browser is not None:
            project.viewer_is_owner = browser.role == "owner"
        self.data_version = 0
        self.recent_codes: list[int] = []
        self.pending_retrieve: tuple[int, str | None] | None = None
        self.pending_cell: tuple[str, list[int]] | None = None  # a matrix cell for Retrieve to show
        self.last_change_codebook = True
        self.step_windows: dict[int, tuple[int, int]] | None = None  # see changed()
        self._codes_cache: tuple[int, dict[int, CodeInfo]] | None = None
        self._seen_event: ChangeMark = ()  # the newest events this workspace has shown (see poll_other_writers)
        self._stop_listening: Callable[[], None] | None = None  # a team project's notifications (see on_mount)
        self._idle_polls = 0
        self._unsaved_wal = False
        _freeze_imports()
        self.register_theme(HIGH_CONTRAST)
        saved = config.remembered_theme(config_dir) if remember else None
        self.theme = saved if saved in self.available_themes else DEFAULT_THEME

    # --- start -----------------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Keys typed while the workspace starts arrive before the terminal is in raw mode, so the terminal
        turned their Enter into a line feed (ctrl+j): read it as the Enter it was. Nothing binds ctrl+j."""
        if isinstance(event, events.Key) and event.key == "ctrl+j":
            event = events.Key("enter", "\r")
        await super().on_event(event)

    def on_mount(self) -> None:
        if not self.coder:
            self.ask_coder()
        self.call_after_refresh(self._freeze_startup_objects)
        self._seen_event = self._change_mark()
        self._idle_polls = 0
        self._unsaved_wal = False
        self._stop_listening = self.project.listen(lambda _actor: self.post_message(self.OtherWriterCommitted()))
        # On PostgreSQL a notification says at once that someone committed; the poll stays as a slow safety net.
        every = POLL_SECONDS if self._stop_listening is None else LISTEN_FALLBACK_SECONDS
        self.poll_timer = self.set_interval(every, self.poll_other_writers, name="poll-other-writers")

    class OtherWriterCommitted(Message):
        """A team project's server said a change was committed (ours too: the poll tells them apart)."""

    def on_waveqda_app_other_writer_committed(self, _message: OtherWriterCommitted) -> None:
        self.poll_other_writers()

    def on_unmount(self) -> None:
        if self.browser is not None:
            self.browser.clean_up()
        if self._stop_listening is not None:
            self._stop_listening()

    # --- other writers -----------------------------------------------------------------------------------

    def _change_mark(self) -> ChangeMark:
        try:
            return self.project.change_mark()
        except Exception:  # the file is busy or gone for a moment: try again at the next poll
            log.warning("could not read the last event id: %s", traceback.format_exc())
            return getattr(self, "_seen_event", ())

    def poll_other_writers(self) -> None:
        """Every second: has anyone else (a CLI command, a second workspace, a colleague on the team
        database) committed a change? One indexed read of the newest event ids (``Project.change_mark``). If
        so the visible screen reloads in place (cursor, selection and any open dialog kept) and the others
        when next shown. While idle after our own changes, the WAL is copied into the project file
        (``Project.checkpoint``) so that a copy of the file alone is complete."""
        latest = self._change_mark()
        if latest != self._seen_event:
            self._seen_event = latest
            self._idle_polls = 0
            self.other_writers_changed()
            return
        self._idle_polls += 1
        if self._unsaved_wal and self._idle_polls >= 2:
            self._unsaved_wal = False
            with contextlib.suppress(Exception):
                self.project.checkpoint()

    def other_writers_changed(self) -> None:
        """Someone else changed the project: everything may have moved (codebook too)."""
        self.changed(codebook=True)

    def _freeze_startup_objects(self) -> None:
        """Move everything alive after start-up (modules, Textual, SQLAlchemy) out of the cyclic garbage
        collector's sight: a full collection otherwise walks them all and shows up as a 100 ms hitch in
        the middle of a keystroke on a long transcript. (What the imports made was frozen already, see
        ``_freeze_imports``, so this collection only walks what start-up made since: 8 ms, not 40.)"""
        import gc

        gc.collect()
        gc.freeze()

    @property
    def read_only(self) -> bool:
        """No coder named yet (the first-run prompt was dismissed): nothing can be changed until one is."""
        return not self.coder

    def ask_coder(self) -> None:
        """Who is coding? Asked on the first run for a project on this machine (then remembered), and when a
        change is tried while the workspace is read-only. Esc leaves it read-only: a name is never made up."""
        from app.tui.screens.dialogs import TextPrompt

        if any(getattr(screen, "coder_prompt", False) for screen in self.screen_stack):
            return
        if self.browser is not None:
            self.notify(f"In the browser you code as {self.browser.account}, the name you logged in with")
            return

        def chosen(name: str | None) -> None:
            if not name:
                if self.read_only:
                    self.notify(
                        "Read-only until you say who is coding: ctrl+p → Who is coding…, or try a change",
                        severity="warning",
                        timeout=8,
                    )
                self.refresh_screen()
                return
            self.coder = name
            self.project.viewer = name
            if self.remember:
                try:
                    config.remember_coder(self.project_path, name, self.config_dir)
                except OSError as exc:
                    self.notify(f"Could not remember the coder name: {exc}", severity="warning")
            self.refresh_screen()

        prompt = TextPrompt(
            "Who is coding? (your name or initials)",
            value=self.coder,
            placeholder="e.g. Ann Smith",
            help_text="Your codings are kept under this name, so several researchers can code the same "
            "transcripts and compare. It is remembered for this project on this computer. "
            "Esc: look around read-only.",
            validate=coder_name,
        )
        prompt.coder_prompt = True  # type: ignore[attr-defined]
        self.push_screen(prompt, chosen)

    # --- the one way to change the project -------------------------------------------------------------

    def change(self, fn: Callable[..., T], *args: Any, codebook: bool = True, **kwargs: Any) -> Done[T] | None:
        """Run one domain change (its own committed transaction); errors become notifications.

        Returns ``Done(value)`` when the change committed (``value`` is what ``fn`` returned, which may be
        None: removing a coding returns nothing) and None when it was refused, so callers tell the two apart.

        ``codebook=False`` says the change touched codings only (apply, remove, resize, memo, key quote), so
        screens need not reload the codebook: that keeps applying a code within a keystroke's budget.
        """
        if not self._may_change():
            return None
        before = self._seen_event
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self._change_failed(fn, exc)
            return None
        return self._change_done(result, before, codebook)

    def change_in_background(
        self,
        fn: Callable[..., T],
        *args: Any,
        then: Callable[[Done[T] | None], None] | None = None,
        codebook: bool = True,
        **kwargs: Any,
    ) -> None:
        """``change`` for work that can take seconds (undoing a merge of thousands of codings, coding every
        search hit): it runs in a worker thread while the workspace keeps taking keys; the screens reload
        and ``then`` is called (with ``Done`` or None, as ``change`` returns) back on the UI thread."""
        if not self._may_change():
            if then is not None:
                then(None)
            return
        self._change_worker(fn, args, kwargs, codebook, then, self._seen_event)

    @work(thread=True, group="changes", exit_on_error=False)
    def _change_worker(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        codebook: bool,
        then: Callable[[Done[T] | None], None] | None,
        before: ChangeMark,
    ) -> None:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self.post_message(self.ChangeFinished(fn, None, exc, before, codebook, then))
            return
        self.post_message(self.ChangeFinished(fn, result, None, before, codebook, then))

    class ChangeFinished(Message):
        """A background change committed (``error`` None) or was refused; handled on the UI thread."""

        def __init__(
            self,
            fn: Callable[..., Any],
            result: Any,
            error: Exception | None,
            before: ChangeMark,
            codebook: bool,
            then: Callable[[Done[Any] | None], None] | None,
        ) -> None:
            super().__init__()
            self.fn, self.result, self.error = fn, result, error
            self.before, self.codebook, self.then = before, codebook, then

    def on_waveqda_app_change_finished(self, message: ChangeFinished) -> None:
        if message.error is not None:
            self._change_failed(message.fn, message.error)
            done = None
        else:
            codebook, windows = message.codebook, None
            if message.result is not None and message.fn in _steps():
                # an undo or redo of codings only: views patch the codings in these windows (see changed)
                windows = self.read(coding_windows_of_step, message.result)
                codebook = codebook and windows is None
            done = self._change_done(message.result, message.before, codebook, windows)
        if message.then is not None:
            message.then(done)

    def _may_change(self) -> bool:
        """While no coder is named (read-only) nothing is run: the user is asked who is coding instead."""
        if self.read_only:
            self.notify("Read-only: say who is coding first", severity="warning", timeout=5)
            self.ask_coder()
            return False
        return True

    def _change_failed(self, fn: Callable[..., object], exc: Exception) -> None:
        if isinstance(exc, StaleError):  # someone else changed the row meanwhile: say so, show what is there
            self.notify(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", severity="error", timeout=8)
            self._seen_event = self._change_mark()
            self.other_writers_changed()
        elif isinstance(exc, WaveqdaError):
            self.notify(str(exc), severity="error", timeout=8)
        else:  # a bug: say so plainly, keep the app running, log the details
            details = "".join(traceback.format_exception(exc))
            log.error("unexpected error in %s: %s", getattr(fn, "__name__", fn), details)
            self.notify(
                f"Unexpected error ({exc.__class__.__name__}: {exc}); nothing was changed.",
                severity="error",
                timeout=10,
            )

    def _change_done(
        self, result: T, before: ChangeMark, codebook: bool, windows: dict[int, tuple[int, int]] | None = None
    ) -> Done[T]:
        latest = self._change_mark()
        if only_own_change(before, latest, self.project.last_written_event):
            # only our own event: nothing else to reload (else the poll reloads all)
            self._seen_event = latest
        else:
            windows = None  # others' changes came in too: reload everything
        self._unsaved_wal = True
        self.changed(codebook=codebook, windows=windows)
        return Done(result)

    def _handle_exception(self, error: Exception) -> None:
        """A user's mistake that escaped a handler (a ``WaveqdaError``) is a message, not a crash.

        Textual has no public hook for an exception that escaped a handler (it exits the app), so this is the
        one override of its private API in the workspace; everything else goes through ``change``/``read``,
        which turn errors into notifications themselves."""
        if isinstance(error, WaveqdaError):
            self.notify(str(error), severity="error", timeout=8)
            return
        super()._handle_exception(error)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """One notification at a time, drawn as a line over the footer (see waveqda.tcss): a stack of toasts
        covered the transcript at 80x24. The newest says what just happened; older ones go."""
        self.clear_notifications()
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a read-only query in a session; errors become notifications."""
        try:
            with self.project.read() as session:
                return fn(session, *args, **kwargs)
        except WaveqdaError as exc:
            self.notify(str(exc), severity="error", timeout=8)
        except Exception as exc:
            log.error("unexpected error in %s: %s", getattr(fn, "__name__", fn), traceback.format_exc())
            self.notify(f"Unexpected error ({exc.__class__.__name__}: {exc})", severity="error", timeout=10)
        return None

    def changed(self, codebook: bool = True, windows: dict[int, tuple[int, int]] | None = None) -> None:
        """The project changed: the visible screen reloads now, the others when shown.

        ``windows`` (an undo or redo of codings only: ``models.history.coding_windows``) says, per transcript,
        the span holding every coding the change touched: a screen that was up to date before this change
        may re-read only those (``step_windows`` holds them until the next change)."""
        self.data_version += 1
        self.last_change_codebook = codebook
        self.step_windows = windows
        if codebook:
            self._codes_cache = None
        screen = self.screen
        for candidate in [screen, *reversed(self.screen_stack)]:
            if isinstance(candidate, WorkspaceScreen):
                candidate.data_changed()
                break

    def refresh_screen(self) -> None:
        for candidate in self.screen_stack:
            if isinstance(candidate, WorkspaceScreen):
                candidate.on_screen_resume()

    def codes(self) -> dict[int, CodeInfo]:
        """Every code with path, colour and definition (cached until the codebook may have changed)."""
        if self._codes_cache is None:
            self._codes_cache = (self.data_version, self.read(code_infos) or {})
        return self._codes_cache[1]

    def note_recent(self, code_ids: Iterable[int]) -> None:
        for cid in code_ids:
            if cid in self.recent_codes:
                self.recent_codes.remove(cid)
            self.recent_codes.insert(0, cid)
        del self.recent_codes[MAX_RECENT:]

    # --- navigation ------------------------------------------------------------------------------------

    def action_go(self, area: str) -> None:
        """Show an area. Home is always Home itself (the participants grid), never the transcript that was
        open above it; the other areas come back as they were left."""
        if area not in self.MODES:
            return
        if self.current_mode != area:
            self.switch_mode(area)
            if area != "home":
                return
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def action_go_to(self) -> None:
        """Areas without function keys (macOS sends none by default; GNOME Terminal takes F1 and F10)."""
        from app.tui.screens.dialogs import GoToDialog

        if not isinstance(self.screen, GoToDialog):
            self.push_screen(GoToDialog(AREAS), lambda area: area and self.action_go(area))

    def open_transcript(self, transcript_id: int, select: tuple[int, int] | None = None) -> None:
        """Open the coder on a transcript (optionally with a span selected), above the current screen."""
        from app.tui.screens.coder import CoderScreen

        self.push_screen(CoderScreen(transcript_id, select=select))

    def open_transcript_ref(self, ref: str) -> None:
        """Open ``PARTICIPANT/TIMEPOINT`` in the coder, or say in one line that there is no such interview."""
        from models.errors import NotFoundError
        from models.transcripts import find_transcript

        try:
            with self.project.read() as session:
                transcript_id = find_transcript(session, ref).id
        except NotFoundError:
            self.notify(f"No interview {ref} in this project", severity="warning", timeout=4)
            return
        self.open_transcript(transcript_id)

    def retrieve_code(self, code_id: int, timepoint: str | None = None) -> None:
        """Show a code's segments in Retrieve (the screen picks the request up when it is shown)."""
        self.pending_retrieve = (code_id, timepoint)
        self._show_retrieve()

    def retrieve_cell(self, title: str, coding_ids: list[int]) -> None:
        """Show a matrix cell's codings in Retrieve (the screen picks the request up when it is shown)."""
        self.pending_cell = (title, list(coding_ids))
        self._show_retrieve()

    def _show_retrieve(self) -> None:
        """Bring Retrieve forward; it takes the pending request when shown (at once if it already is)."""
        if self.current_mode == "retrieve":
            while len(self.screen_stack) > 1:
                self.pop_screen()
            screen = self.screen
            if hasattr(screen, "take_pending") and screen.is_mounted:
                screen.take_pending()
            return
        self.switch_mode("retrieve")

    def action_help(self) -> None:
        from app.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_undo(self) -> None:
        """Take back this coder's last step (a colleague's later steps stay), in a worker: undoing a large
        merge takes seconds and the workspace keeps responding meanwhile."""
        from models.history import undo

        self.change_in_background(undo, self.project, self.coder, then=lambda done: self._stepped(done, "Undone"))

    def action_redo(self) -> None:
        from models.history import redo

        self.change_in_background(redo, self.project, self.coder, then=lambda done: self._stepped(done, "Redone"))

    def _stepped(self, done: Done[Any] | None, verb: str) -> None:
        if done is None:  # refused (a conflict with a later change): the notification says why
            return
        if done.value is not None:
            self.notify(f"{verb}: {done.value.summary}", timeout=4)
        else:
            action = "undo" if verb == "Undone" else "redo"
            self.notify(f"Nothing of yours to {action}", severity="warning", timeout=3)

    def action_toggle_contrast(self) -> None:
        self.theme = DEFAULT_THEME if self.theme == HIGH_CONTRAST.name else HIGH_CONTRAST.name

    def watch_theme(self, theme: str) -> None:
        if self.remember and self.is_running:
            with contextlib.suppress(OSError):
                config.remember_theme(theme, self.config_dir)

    def action_export(self) -> None:
        from app.tui.screens.export_dialog import ExportDialog

        if not isinstance(self.screen, ExportDialog):
            self.push_screen(ExportDialog())

    def ask_backup(self) -> None:
        """Where to write a backup (a new file beside the project by default), then write it in a thread."""
        from app.tui.screens.dialogs import TextPrompt
        from models.project_file import default_backup_name

        if self.project.path is None:
            self.notify(f"{self.project.label}: a team project is backed up on its database server (pg_dump)")
            return
        if self.refused_in_browser("a backup"):
            return
        self.push_screen(
            TextPrompt(
                "Back up the project to…",
                value=str(default_backup_name(Path(self.project.path))),
                help_text="A complete, consistent copy of the project file, made safely while you or others "
                "keep working. Copy this file (not the open project) to a shared drive or e-mail it.",
            ),
            lambda dest: dest and self.backup(Path(dest).expanduser()),
        )

    def action_scores(self) -> None:
        from app.tui.screens.scores import ScoresScreen

        if not isinstance(self.screen, ScoresScreen):
            self.push_screen(ScoresScreen())

    def action_merge_project(self) -> None:
        """Which coder's project to bring in, then the merge in a worker (two coders' 50,000 codings take
        seconds; the workspace keeps taking keys), then what it did."""
        from app.tui.screens.dialogs import TextPrompt

        if self.refused_in_browser("merging another project file"):
            return
        self.push_screen(
            TextPrompt(
                "Merge another coder's project into this one…",
                placeholder="e.g. ~/Downloads/study-ann.wqda",
                help_text="Their codes, codings, memos and attributes are added to this project; nothing here "
                "is overwritten or dropped, and what is already here is not added twice. One step: ctrl+z undoes "
                "the whole merge.",
            ),
            lambda source: source and self.merge_from(source.strip()),
        )

    def refused_in_browser(self, what: str) -> bool:
        """True (and a one-line notice) when this is a browser session and ``what`` would use server files."""
        if self.browser is None:
            return False
        self.notify(self.browser.server_files_refused(what), severity="warning", timeout=8)
        return True

    def deliver(self, path: Path) -> None:
        """A file written for a browser session goes to the browser as a download."""
        self.deliver_binary(path, save_filename=path.name)

    def merge_from(self, source: str) -> None:
        from models.merge import merge_into_open

        path = Path(source).expanduser() if "://" not in source else source
        self.notify(f"Merging {Path(source).name}… (keep working; it takes a few seconds)", timeout=4)
        self.change_in_background(merge_into_open, self.project, [path], self.coder, then=self._merged)

    def _merged(self, done: Done[Any] | None) -> None:
        from rich.text import Text

        from app.tui.screens.dialogs import MessageDialog

        if done is None:  # refused: the notification says why
            return
        report = done.value
        lines = report.lines()
        if report.changed:
            lines.append("ctrl+z undoes the whole merge.")
        self.push_screen(MessageDialog("Merge", Text("\n".join(lines[:200]))))

    @work(thread=True, exclusive=True, group="backup")
    def backup(self, dest: Path) -> None:
        from models.project_file import backup_project

        try:
            backup_project(self.project.path, self.project.label, dest)
        except WaveqdaError as exc:
            self.post_message(self.BackedUp(dest, str(exc)))
            return
        self.post_message(self.BackedUp(dest, None))

    class BackedUp(Message):
        """The backup worker wrote ``dest`` (``error`` None) or says why not."""

        def __init__(self, dest: Path, error: str | None) -> None:
            super().__init__()
            self.dest, self.error = dest, error

    def on_waveqda_app_backed_up(self, message: BackedUp) -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        else:
            self.notify(f"Backed up to {message.dest}", timeout=6)

    # --- command palette -------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action is in the palette: areas, undo/redo, themes, and the current screen's keys."""
        yield from super().get_system_commands(screen)
        for key, fkey, label in AREAS:
            yield SystemCommand(
                f"Go to {label} ({fkey})", f"Show the {label.lower()} area", lambda key=key: self.action_go(key)
            )
        yield SystemCommand("Undo (ctrl+z)", "Take back the last change", self.action_undo)
        yield SystemCommand("Redo (ctrl+y)", "Do again the last undone change", self.action_redo)
        yield SystemCommand("Go to an area… (ctrl+g)", "Choose an area by letter", self.action_go_to)
        yield SystemCommand("High contrast theme (F9)", "Toggle the high-contrast theme", self.action_toggle_contrast)
        if self.browser is None:
            yield SystemCommand("Who is coding…", "Change the coder name used for new codings", self.ask_coder)
        else:
            yield SystemCommand(
                f"Log out ({self.browser.account})",
                "End this browser session",
                lambda: self.open_url("/logout", new_tab=False),
            )
        yield SystemCommand(
            "Questionnaire scores beside themes (Compare, q)",
            "Scores per participant and timepoint, reliable change and theme courses",
            self.action_scores,
        )
        yield SystemCommand(
            "Merge another coder's project…",
            "Bring in a colleague's codes, codings and memos (one undoable step)",
            self.action_merge_project,
        )
        yield SystemCommand(
            "Back up the project…", "A complete copy of the project file, safe while others work", self.ask_backup
        )
        yield SystemCommand(
            "Export… (ctrl+e)", "Word reports, CSV/Excel tables or a REFI-QDA project", self.action_export
        )
        seen: set[str] = set()
        for node in screen.ancestors_with_self if screen.focused is None else screen.focused.ancestors_with_self:
            if node is self:
                continue
            for binding in getattr(node, "BINDINGS", []):
                if not isinstance(binding, Binding) or binding.action in seen or not binding.description:
                    continue
                if binding.action.startswith(("dismiss", "cursor", "move", "extend", "page", "edge")):
                    continue
                seen.add(binding.action)
                keys = binding.key.split(",")[0]
                yield SystemCommand(
                    f"{binding.description} ({self.get_key_display(Binding(keys, ''))})",
                    binding.tooltip or binding.description,
                    lambda node=node, action=binding.action: self.run_action(action, node),
                )
