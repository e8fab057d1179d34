"""Questionnaire scores beside the themes (issue 17): opened from Compare with q.

Participants down; their score at each timepoint, the change from the first to the last timepoint with its
reliable-change category, and the course of each top-level theme (+ voiced, - not voiced, ? not coded yet,
. not interviewed) across. Under the table each timepoint's n, mean and 95% CI with the share of
participants voicing each theme. s switches the measure, f filters by change category, Enter on a score
opens that participant's interview at that timepoint. The figures come from the domain layer
(``models.score_summary.scores_view``) in a worker and arrive as a message.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from app.tui.screens.base import NavBar, Palette, WorkspaceScreen
from app.tui.widgets.footer import KeyBar
from models.errors import WaveqdaError
from models.score_summary import ScoresView, scores_view
from models.scores import CATEGORIES

FILTERS = ("all", *CATEGORIES)
CATEGORY_SHORT = {"reliably better": "better", "no reliable change": "no change", "reliably worse": "worse",
                  "not computed": "n/a"}  # fmt: skip
THEME_WIDTH = 7


def short(theme: str) -> str:
    """A theme's column header: its first word, cut to the column (the full names are under the table)."""
    return theme.split()[0][:THEME_WIDTH] if theme.split() else theme[:THEME_WIDTH]


class ScoresScreen(WorkspaceScreen):
    """Scores per participant and timepoint, change category and theme courses."""

    AREA = "compare"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to Compare"),
        Binding("s", "next_measure", "Next measure"),
        Binding("f", "next_filter", "Filter by change"),
        Binding("enter", "open", "Open interview", show=False),
        Binding("o", "open", "Open interview"),
    ]

    class Loaded(Message):
        """The worker's result: the view, or the one line saying why there is none."""

        def __init__(self, view: ScoresView | None, error: str | None) -> None:
            super().__init__()
            self.view = view
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.view: ScoresView | None = None
        self.measure: str | None = None
        self.category = "all"
        self.shown: list[str] = []  # participant study ids in table order

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield Static("Loading the scores…", id="scores-title")
        yield DataTable(id="scores-table", cursor_type="cell")
        yield Static(id="scores-waves")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self.query_one(DataTable).focus()
        self.refresh_data()

    def refresh_data(self) -> None:
        self.load(self.measure)

    @work(thread=True, exclusive=True, group="scores")
    def load(self, measure: str | None) -> None:
        try:
            with self.wq.project.read() as session:
                view = scores_view(session, measure)
        except WaveqdaError as exc:
            self.post_message(self.Loaded(None, str(exc)))
            return
        self.post_message(self.Loaded(view, None))

    def on_scores_screen_loaded(self, message: Loaded) -> None:
        self.view = message.view
        if message.error:
            self.query_one("#scores-title", Static).update(Text(message.error, style="bold"))
            return
        if message.view is None:
            self.query_one("#scores-title", Static).update(
                "No questionnaire measures yet: describe them with waveqda measure add, then waveqda scores import."
            )
            return
        self.measure = message.view.measure
        self._draw()

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        palette = Palette.of(self.app)
        joint = view.joint
        keys = [t.timepoint for t in joint.timepoints]
        table = self.query_one(DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("Participant", key="participant")
        for key in keys:
            table.add_column(key, key=f"score:{key}", width=5)
        table.add_column("Change", key="change", width=6)
        table.add_column("Reliably", key="category", width=9)
        for theme in view.themes:
            table.add_column(short(theme), key=f"theme:{theme}", width=THEME_WIDTH)
        styles = {CATEGORIES[0]: palette.good, CATEGORIES[1]: "", CATEGORIES[2]: palette.bad}
        self.shown = []
        for row in joint.participants:
            category = row.change.category if row.change else "not computed"
            if self.category != "all" and category != self.category:
                continue
            self.shown.append(row.participant)
            table.add_row(
                Text(row.participant, style="bold"),
                *(Text("–" if row.scores.get(k) is None else f"{row.scores[k]:g}", justify="right") for k in keys),
                Text("–" if row.change is None else f"{row.change.difference:+g}", justify="right"),
                Text(CATEGORY_SHORT.get(category, category), style=styles.get(category, "dim")),
                *(Text(course.pattern) for course in row.themes),
                key=row.participant,
            )
        if self.shown:
            table.cursor_coordinate = cursor if cursor.row < len(self.shown) else table.cursor_coordinate
        title = Text()
        title.append(f"{view.measure}", style="bold")
        title.append(f": change {joint.from_} → {joint.to}", style="bold")
        title.append(f" · showing {self.category} ({len(self.shown)} of {len(joint.participants)})", style="dim")
        title.append(f" · measures: {', '.join(view.measures)} (s switches, f filters)", style="dim")
        self.query_one("#scores-title", Static).update(title)
        self.query_one("#scores-waves", Static).update(self._waves_text())

    def _waves_text(self) -> Text:
        """Each timepoint's n, mean and CI, and the share voicing each theme, aligned under one header."""
        view = self.view
        text = Text()
        if view is None or view.summary is None:
            return text
        shares = {t.timepoint: t.voicing for t in view.joint.timepoints}
        text.append(f"{'':4}{'n':>4}  {'mean (95% CI)':<20}", style="bold")
        text.append("".join(f"{short(theme):>{THEME_WIDTH + 1}}" for theme in view.themes) + "\n", style="bold")
        for wave in view.summary.waves:
            text.append(f"{wave.timepoint:<4}", style="bold")
            mean = "–" if wave.mean is None else f"{wave.mean:.1f}"
            if wave.ci_low is not None and wave.ci_high is not None:
                mean += f" ({wave.ci_low:.1f}–{wave.ci_high:.1f})"
            text.append(f"{wave.n:>4}  {mean:<20}")
            voicing = shares.get(wave.timepoint, {})
            text.append("".join(f"{round(100 * voicing.get(theme, 0.0)):>{THEME_WIDTH}}%" for theme in view.themes))
            text.append("\n")
        text.append("% of those interviewed then who voiced each theme: " + "; ".join(view.themes), style="dim")
        text.append("\nCourses: + voiced · - not voiced · ? not coded yet · . not interviewed. "
                    "Reliably: better, no change or worse (Jacobson-Truax).", style="dim")  # fmt: skip
        return text

    def action_next_measure(self) -> None:
        if self.view is None or not self.view.measures:
            return
        names = list(self.view.measures)
        current = self.measure if self.measure in names else self.view.measure  # keys pressed before a load ends
        self.measure = names[(names.index(current) + 1) % len(names)]
        self.load(self.measure)

    def action_next_filter(self) -> None:
        self.category = FILTERS[(FILTERS.index(self.category) + 1) % len(FILTERS)]
        self._draw()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """The participant's interview at the timepoint of the score under the cursor (else the last)."""
        if self.view is None or not self.shown:
            return
        table = self.query_one(DataTable)
        participant = self.shown[min(table.cursor_row, len(self.shown) - 1)]
        column = table.ordered_columns[table.cursor_column].key.value or ""
        timepoint = column.split(":", 1)[1] if column.startswith("score:") else self.view.joint.to
        self.wq.open_transcript_ref(f"{participant}/{timepoint}")
