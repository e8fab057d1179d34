"""Intercoder agreement: how far two or more coders agree per code, and the stretches they disagree on.

Why one screen for both: a consensus meeting moves between the numbers ("Money worries is only fair") and
the text behind them. Tick the coders and the unit at the top; the report (percentage agreement, Cohen's κ,
Krippendorff's α-binary and cu-α, each roll-up labelled) is computed in a worker, with conventional
thresholds marked. The second tab lists every stretch some coders coded and others did not; each is settled
(keep a coder's coding, both, or none) as the ``consensus`` coder's coding, one undoable step each.
"""

from __future__ import annotations

import logging
import traceback

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    DataTable,
    Footer,
    Label,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection

from app.tui.screens.base import NavBar, Palette, WorkspaceScreen
from app.tui.screens.dialogs import ChoiceDialog, ConfirmDialog
from models import agreement as stats
from models import agreement_report as report
from models.errors import WaveqdaError
from models.workspace_queries import TranscriptDoc, coder_names, load_document

log = logging.getLogger("waveqda.tui")

ROLLUPS = [(report.POOLED, "pooled"), (report.MEAN, "mean"), (report.WEIGHTED, "length-weighted mean")]
ROLLUP_HELP = {
    report.POOLED: "pooled: the unit tables summed over transcripts (cu-α over the transcripts laid end to end)",
    report.MEAN: "mean: the plain mean over the transcripts where a coder applied the code",
    report.WEIGHTED: "length-weighted mean: the mean weighted by each transcript's length",
}
CONTEXT_CHARS = 240


# --- figures as text --------------------------------------------------------------------------------------


def kappa_style(value: float, palette: Palette) -> str:
    """The style of Landis & Koch's band (``stats.kappa_label``): almost perfect, substantial, moderate, below."""
    band = stats.kappa_label(value)
    if band == "almost perfect":
        return f"bold {palette.good}"
    return {"substantial": palette.good, "moderate": palette.fair}.get(band, f"bold {palette.bad}")


def alpha_style(value: float, palette: Palette) -> str:
    """The style of Krippendorff's advice (``stats.alpha_label``): reliable, tentative, unreliable."""
    band = stats.alpha_label(value)
    return {"reliable": f"bold {palette.good}", "tentative": palette.fair}.get(band, f"bold {palette.bad}")


def figure_cells(figures: report.Figures | None, palette: Palette) -> list[Text]:
    """Agreement %, κ, α-binary and cu-α of one row, each marked with its conventional band."""
    if figures is None:
        return [Text("—", style="dim", justify="right") for _ in range(4)]
    values = figures.values
    agree = values["percent_agreement"].value
    cells = [Text("n/a" if agree is None else f"{agree:.1f}%", style="dim" if agree is None else "", justify="right")]
    for name, label, style in (
        ("kappa", stats.kappa_label, kappa_style),
        ("alpha_binary", stats.alpha_label, alpha_style),
        ("cu_alpha", stats.alpha_label, alpha_style),
    ):
        value = values[name].value
        if value is None:
            cells.append(Text("n/a", style="dim"))
        else:
            cells.append(Text.assemble((f"{value:.3f}", style(value, palette)), (f" {label(value)}", "dim")))
    return cells


def figures_for(rollup: report.RollUp | list[report.Figures], method: str) -> report.Figures | None:
    figures = rollup.figures if isinstance(rollup, report.RollUp) else rollup
    return next((f for f in figures if f.method == method), None)


def disagreement_context(d: report.Disagreement, doc: TranscriptDoc | None, palette: Palette) -> Text:
    """Who coded the stretch and who did not, how it was settled, and the stretch in its surrounding text."""
    text = Text()
    text.append(f"{d.transcript}", style="bold")
    text.append(f" · {d.code}", style=f"bold {palette.accent}")
    text.append(f" · characters {d.start}–{d.end}\n", style="dim")
    text.append("coded by ", style="dim")
    text.append(", ".join(d.coded_by), style=f"bold {palette.good}")
    text.append(" · not by ", style="dim")
    text.append(", ".join(d.not_coded_by), style=f"bold {palette.bad}")
    if d.settled:
        text.append(f" · settled: {d.settled}\n", style="bold")
    else:
        text.append(" · not settled yet: k keeps a coder's coding, b both (code it), n none\n", style="dim")
    text.append("\n")
    if doc is None:
        text.append(" ".join(d.text.split()), style="bold reverse")
        return text
    lo, hi = max(0, d.start - CONTEXT_CHARS), min(len(doc.text), d.end + CONTEXT_CHARS)
    text.append(("…" if lo else "") + doc.text[lo : d.start].replace("\n", " "), style="dim")
    text.append(doc.text[d.start : d.end].replace("\n", " "), style="bold reverse")
    text.append(doc.text[d.end : hi].replace("\n", " ") + ("…" if hi < len(doc.text) else ""), style="dim")
    return text


def snippet(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# --- the screen -------------------------------------------------------------------------------------------


class AgreementScreen(WorkspaceScreen):
    """Choose coders and unit; read per-code agreement; settle disagreements as consensus."""

    AREA = "agreement"
    CSS_PATH = "agreement.tcss"
    BINDINGS = [
        Binding("t", "switch_tab", "Figures/Disagreements"),
        Binding("p", "rollup", "Roll-up"),
        Binding("v", "view", "By code/transcript", show=False),
        Binding("k", "keep", "Keep coder's…"),
        Binding("b", "settle('union')", "Both"),
        Binding("n", "settle('none')", "None"),
        Binding("o", "open", "Open in transcript", show=False),
        Binding("h", "hide_settled", "Hide settled", show=False),
        Binding("A", "adopt", "Adopt agreed…", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.coders: list[str] = []
        self.unit = "character"
        self.rollup = report.POOLED
        self.by = "code"
        self.hide_settled = False
        self.report: report.AgreementReport | None = None
        self.found: list[report.Disagreement] = []
        self.shown: list[report.Disagreement] = []
        self.error: str | None = None
        self.computing = False
        self._generation = 0
        self._request: tuple | None = None
        self._docs: dict[int, TranscriptDoc] = {}
        self._focus_key: str | None = None
        self._refocus = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA, "Intercoder agreement")
        with Horizontal(id="agr-setup"):
            with Vertical(id="agr-coders-box"):
                yield Label("Coders (space ticks)", classes="agr-label")
                yield SelectionList[str](id="agr-coders")
            with Vertical(id="agr-unit-box"):
                yield Label("Units", classes="agr-label")
                with RadioSet(id="agr-unit"):
                    for unit in report.UNITS:
                        yield RadioButton(f"{unit}s", value=unit == self.unit, name=unit)
            yield Static(id="agr-about")
        yield Static(id="agr-status")
        with TabbedContent(id="agr-tabs", initial="agr-figures"):
            with TabPane("Agreement", id="agr-figures"):
                yield DataTable(id="agr-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="agr-legend")
            with TabPane("Disagreements", id="agr-disagreements"):
                yield DataTable(id="agr-list", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="agr-detail"):
                    yield Static(id="agr-detail-text")
        yield Footer()

    @property
    def figures_table(self) -> DataTable:
        return self.query_one("#agr-table", DataTable)

    @property
    def list_table(self) -> DataTable:
        return self.query_one("#agr-list", DataTable)

    def on_mount(self) -> None:
        self.query_one("#agr-detail").border_title = "The stretch in context"
        self._seen_version = self.wq.data_version
        self.refresh_data()
        self.figures_table.focus()

    # --- choosing coders and unit ----------------------------------------------------------------------

    def refresh_data(self) -> None:
        self._docs.clear()
        self._fill_coders()
        self.request_compute(force=True)

    def _fill_coders(self) -> None:
        names = sorted((self.wq.read(coder_names) or {}).values(), key=str.casefold)
        if names == self.coders:
            return
        widget = self.query_one("#agr-coders", SelectionList)
        if self.coders:
            ticked = set(widget.selected) & set(names)
            ticked |= set(names) - set(self.coders) - {report.CONSENSUS_CODER}  # new coders join in
        else:
            ticked = {n for n in names if n != report.CONSENSUS_CODER}
        self.coders = names
        widget.clear_options()
        widget.add_options([Selection(name, name, name in ticked) for name in names])

    def selected_coders(self) -> list[str]:
        chosen = set(self.query_one("#agr-coders", SelectionList).selected)
        return [name for name in self.coders if name in chosen]

    @on(SelectionList.SelectedChanged, "#agr-coders")
    def _coders_changed(self) -> None:
        self.request_compute()

    @on(RadioSet.Changed, "#agr-unit")
    def _unit_changed(self, event: RadioSet.Changed) -> None:
        self.unit = event.pressed.name or "character"
        self.request_compute()

    # --- computing -------------------------------------------------------------------------------------

    def request_compute(self, force: bool = False) -> None:
        """Recompute when the coders, the unit or the project changed (a worker: large studies take seconds)."""
        coders = self.selected_coders()
        request = (tuple(coders), self.unit, self.wq.data_version)
        if request == self._request and not force:
            return
        self._request = request
        if len(coders) < 2:
            self._generation += 1
            self.computing = False
            self._show_results(
                None,
                [],
                "Tick two or more coders to compare (Tab moves to the coder list, space "
                "ticks). Each coder codes under their own name; merge coders' files with "
                "waveqda merge.",
            )
            return
        self._generation += 1
        self.computing = True
        self._refocus = self._refocus or self.focused is self.figures_table
        self.figures_table.loading = True
        self._show_status()
        self.compute(coders, self.unit, self._generation)

    @work(thread=True, exclusive=True, group="agreement")
    def compute(self, coders: list[str], unit: str, generation: int) -> None:
        project = self.wq.project
        try:
            result = report.agreement_report(project, coders, unit=unit)
            found = report.disagreements(project, coders)
        except WaveqdaError as exc:
            self.post_message(self.Computed(generation, None, [], str(exc)))
            return
        except Exception as exc:  # a bug: say so plainly, keep the screen usable, log the details
            log.error("agreement failed: %s", traceback.format_exc())
            self.post_message(
                self.Computed(generation, None, [], f"Unexpected error ({exc.__class__.__name__}: {exc})")
            )
            return
        self.post_message(self.Computed(generation, result, found, None))

    class Computed(Message):
        """The agreement worker's report and disagreements for request ``generation`` (or why none)."""

        def __init__(
            self,
            generation: int,
            result: report.AgreementReport | None,
            found: list[report.Disagreement],
            error: str | None,
        ) -> None:
            super().__init__()
            self.generation, self.result, self.found, self.error = generation, result, found, error

    def on_agreement_screen_computed(self, message: Computed) -> None:
        if message.generation != self._generation:  # an older request finished after a newer one was made
            return
        self.computing = False
        self._show_results(message.result, message.found, message.error)

    def _show_results(
        self, result: report.AgreementReport | None, found: list[report.Disagreement], error: str | None
    ) -> None:
        self.report, self.found, self.error = result, found, error
        self.figures_table.loading = False
        if self._refocus:  # the loading indicator took focus away from the table: give it back
            self._refocus = False
            self.figures_table.focus()
        self._draw_figures()
        self._draw_list()
        self._show_status()
        self.refresh_bindings()

    def _show_status(self) -> None:
        palette = Palette.of(self.app)
        status = Text()
        if self.computing:
            status.append("Computing agreement…", style="bold")
        elif self.error:
            status.append(
                self.error,
                style=f"bold {palette.bad}" if self.report is None and len(self.selected_coders()) > 1 else "bold",
            )
        elif self.report is not None:
            r = self.report
            status.append(" vs ".join(r.coders), style="bold")
            status.append(f" · {r.unit}s · {len(r.transcripts)} transcripts coded by all: ", style="")
            status.append(
                ", ".join(t.label for t in r.transcripts[:8]) + (" …" if len(r.transcripts) > 8 else ""), style="dim"
            )
            if r.excluded:
                status.append(f" · {r.excluded} codings needing review left out", style=palette.fair)
        self.query_one("#agr-status", Static).update(status)
        about = Text()
        about.append("Thresholds\n", style="bold")
        about.append("κ ", style="bold")
        about.append("> 0.80 almost perfect", style=f"bold {palette.good}")
        about.append(", ", style="dim")
        about.append("0.61–0.80 substantial", style=palette.good)
        about.append(" (Landis & Koch)\n", style="dim")
        about.append("α ", style="bold")
        about.append("≥ 0.800 reliable", style=f"bold {palette.good}")
        about.append(", ", style="dim")
        about.append("≥ 0.667 tentative", style=palette.fair)
        about.append(" (Krippendorff)\n", style="dim")
        about.append("cu-α is always on characters", style="dim")
        self.query_one("#agr-about", Static).update(about)
        tabs = self.query_one(TabbedContent)
        pending = sum(1 for d in self.found if not d.settled)
        tabs.get_tab("agr-disagreements").label = f"Disagreements ({len(self.found)} · {pending} to settle)"

    def _available_rollups(self) -> list[str]:
        if self.report is None:
            return [m for m, _ in ROLLUPS]
        rows = self.report.per_code if self.by == "code" else self.report.per_transcript
        methods = {f.method for r in rows for f in r.figures} | {f.method for f in self.report.overall}
        return [m for m, _ in ROLLUPS if m in methods]

    def _draw_figures(self) -> None:
        palette = Palette.of(self.app)
        table = self.figures_table
        row_index = table.cursor_row
        table.clear(columns=True)
        label = "Code" if self.by == "code" else "Transcript"
        table.add_column(label, key="label")
        table.add_column("Cells", key="cells")
        table.add_column("Units", key="units")
        table.add_column("Agree", key="agree")
        table.add_column("κ", key="kappa")
        table.add_column("α-binary", key="alpha")
        table.add_column("cu-α", key="cu_alpha")
        legend = self.query_one("#agr-legend", Static)
        if self.report is None:
            legend.update("")
            return
        if self.rollup not in self._available_rollups():
            self.rollup = report.POOLED
        rows = self.report.per_code if self.by == "code" else self.report.per_transcript
        for rollup in rows:
            figures = figures_for(rollup, self.rollup)
            units = "" if figures is None or figures.table is None else f"{figures.table.total:,}"
            cells = "" if figures is None else str(figures.cells)
            table.add_row(
                Text(rollup.label),
                Text(cells, justify="right"),
                Text(units, justify="right"),
                *figure_cells(figures, palette),
                key=f"{self.by}:{rollup.ident}",
            )
        overall = figures_for(self.report.overall, self.rollup)
        units = "" if overall is None or overall.table is None else f"{overall.table.total:,}"
        table.add_row(
            Text("All codes" if self.by == "code" else "All transcripts", style="bold"),
            Text("" if overall is None else str(overall.cells), justify="right"),
            Text(units, justify="right"),
            *figure_cells(overall, palette),
            key="overall",
        )
        table.move_cursor(row=min(max(row_index, 0), table.row_count - 1))
        text = Text()
        text.append("Roll-up: ", style="bold")
        text.append(ROLLUP_HELP[self.rollup] + " (p changes it; v shows transcripts instead of codes)\n", style="")
        reasons = sorted(
            {e.reason for r in rows for f in r.figures for e in f.values.values() if e.reason}
            | {e.reason for f in self.report.overall for e in f.values.values() if e.reason}
        )
        for reason in reasons:
            text.append(f"n/a: {reason}\n", style="dim")
        legend.update(text)

    # --- the disagreement list -------------------------------------------------------------------------

    def _draw_list(self) -> None:
        palette = Palette.of(self.app)
        table = self.list_table
        row_index = table.cursor_row
        previous = self.current()
        table.clear(columns=True)
        table.add_column("", key="state")
        table.add_column("Transcript", key="transcript")
        table.add_column("Code", key="code")
        table.add_column("Coded by", key="coded_by")
        table.add_column("Not by", key="not_by")
        table.add_column("Text", key="text")
        self.shown = [d for d in self.found if not (self.hide_settled and d.settled)]
        for d in self.shown:
            state = Text("✔ " + d.settled, style=palette.good) if d.settled else Text("•", style=f"bold {palette.fair}")
            table.add_row(
                state,
                d.transcript,
                Text(d.code, style=palette.accent),
                ", ".join(d.coded_by),
                ", ".join(d.not_coded_by),
                snippet(d.text),
                key=d.key,
            )
        if self.shown:
            wanted = self._focus_key or (previous.key if previous else None)
            index = next((i for i, d in enumerate(self.shown) if d.key == wanted), None)
            table.move_cursor(row=index if index is not None else min(max(row_index, 0), len(self.shown) - 1))
        self._focus_key = None
        self._show_detail()

    def current(self) -> report.Disagreement | None:
        table = self.list_table
        row = table.cursor_row
        return self.shown[row] if self.shown and 0 <= row < len(self.shown) else None

    def _doc(self, transcript_id: int) -> TranscriptDoc | None:
        if transcript_id not in self._docs:
            doc = self.wq.read(load_document, transcript_id)
            if doc is None:
                return None
            self._docs[transcript_id] = doc
        return self._docs[transcript_id]

    def _show_detail(self) -> None:
        widget = self.query_one("#agr-detail-text", Static)
        d = self.current()
        if d is None:
            message = "No disagreements: every compared coder coded the same stretches." if self.report else ""
            widget.update(Text(message, style="dim"))
            return
        widget.update(disagreement_context(d, self._doc(d.transcript_id), Palette.of(self.app)))

    @on(DataTable.RowHighlighted, "#agr-list")
    def _row_highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#agr-list")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        (self.list_table if event.pane.id == "agr-disagreements" else self.figures_table).focus()
        self.refresh_bindings()

    # --- actions ---------------------------------------------------------------------------------------

    def _on_list(self) -> bool:
        return self.query_one(TabbedContent).active == "agr-disagreements"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("keep", "settle", "open", "choose"):
            return self._on_list() and self.current() is not None or None
        if action in ("rollup", "view"):
            return not self._on_list() and self.report is not None or None
        if action == "hide_settled":
            return self._on_list() or None
        if action == "adopt":
            return self.report is not None or None
        return True

    @property
    def actor(self) -> str:
        return self.wq.coder or "coder"

    def action_switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "agr-figures" if tabs.active == "agr-disagreements" else "agr-disagreements"

    def action_rollup(self) -> None:
        methods = self._available_rollups()
        self.rollup = methods[(methods.index(self.rollup) + 1) % len(methods)] if self.rollup in methods else methods[0]
        self._draw_figures()

    def action_view(self) -> None:
        self.by = "transcript" if self.by == "code" else "code"
        self._draw_figures()

    def action_hide_settled(self) -> None:
        self.hide_settled = not self.hide_settled
        self._draw_list()

    def settle(self, d: report.Disagreement, decision: str) -> None:
        """Record the decision (one undoable step), then move on to the next stretch still to settle."""
        index = self.shown.index(d) if d in self.shown else -1
        later = [x for x in self.shown[index + 1 :] if not x.settled] + [x for x in self.shown[:index] if not x.settled]
        done = self.wq.change(report.settle, self.wq.project, self.actor, d.key, decision)
        if done is not None:
            self._focus_key = later[0].key if later else d.key
            self.notify(f"Settled: {done.value.decision} (ctrl+z undoes)", timeout=3)

    def action_settle(self, decision: str) -> None:
        d = self.current()
        if d is not None:
            self.settle(d, decision)

    def action_keep(self) -> None:
        d = self.current()
        if d is None or self.report is None:
            return
        choices: list[tuple[str, object]] = []
        for name in self.report.coders:
            did = "coded it" if name in d.coded_by else "did not code it"
            choices.append((name, Text.assemble((f"Keep {name}'s coding", "bold"), (f"  ({did})", "dim"))))
        self.app.push_screen(
            ChoiceDialog(f"Settle {snippet(d.text, 40)!r}: whose coding stands?", choices),
            lambda name: name and self.settle(d, name),
        )

    def action_choose(self) -> None:
        """Enter: every way to settle the stretch in one list."""
        d = self.current()
        if d is None or self.report is None:
            return
        choices: list[tuple[str, object]] = []
        for name in self.report.coders:
            did = "coded it" if name in d.coded_by else "did not code it"
            choices.append((name, Text.assemble((f"Keep {name}'s coding", "bold"), (f"  ({did})", "dim"))))
        choices.append(("union", Text.assemble(("Both: code the stretch", "bold"), ("  (b)", "dim"))))
        choices.append(("none", Text.assemble(("None: leave it uncoded", "bold"), ("  (n)", "dim"))))
        self.app.push_screen(
            ChoiceDialog(f"Settle {snippet(d.text, 40)!r} ({d.code})", choices),
            lambda decision: decision and self.settle(d, decision),
        )

    def action_open(self) -> None:
        d = self.current()
        if d is not None:
            self.wq.open_transcript(d.transcript_id, select=(d.start, d.end))

    def action_adopt(self) -> None:
        if self.report is None:
            return
        coders = list(self.report.coders)

        def confirmed(ok: bool | None) -> None:
            if not ok:
                return

            def adopted(added) -> None:  # type: ignore[no-untyped-def]
                if added is not None:
                    self.notify(
                        f"Consensus: added {added.value} stretches every coder agreed on (ctrl+z undoes)", timeout=4
                    )

            self.wq.change_in_background(report.adopt_agreements, self.wq.project, self.actor, coders, then=adopted)

        self.app.push_screen(
            ConfirmDialog(
                f"Copy every stretch that all of {', '.join(coders)} coded alike into the consensus "
                "coding?\n\nTogether with settling each disagreement, the consensus coder then holds the "
                "whole agreed coding (exports can use it alone). One step: ctrl+z undoes it.",
                "Adopt",
            ),
            confirmed,
        )
