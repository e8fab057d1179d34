"""The joint report in Word: questionnaire scores beside themes, for the interpretive workshop (issue 17).

Per measure: where the participants stand at each timepoint (a table with the norm comparison, the spaghetti
plot, the omnibus tests and the mixed model in one sentence each); each participant's scores, reliable change
and the course of every theme, with their words at the wave of change for those who changed reliably; how
many in each change group voiced each theme at each timepoint; the mean score beside the share voicing each
theme; and small multiples, one panel per participant. Numbers are rounded for reading (the CSV/XLSX and
``waveqda scores describe --json`` carry them whole).
"""

from __future__ import annotations

from pathlib import Path

from exporters import score_charts
from exporters.filters import ExportFilters
from exporters.joint import JointData, load_joint, method
from exporters.word_common import (
    CAPTION_STYLE,
    CELL_STYLE,
    Progress,
    Report,
    made_on,
    new_report,
    title_page,
)
from models.score_summary import MeasureSummary
from models.scores import CATEGORIES, JointDisplay
from models.store import Project

COURSE_WORDS = "+ voiced · - interviewed, not voiced · ? not coded yet · . not interviewed"


def export_joint(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    measures: list[str] | None = None,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    data = load_joint(project, filters, measures)
    report = new_report(f"{data.project_name}: scores beside themes", large_print)
    first, last = data.displays[0].from_, data.displays[0].to
    title_page(
        report,
        data.project_name,
        "Questionnaire scores beside themes",
        [
            ("Made on", made_on()),
            ("Measures", ", ".join(d.measure for d in data.displays)),
            ("Themes", ", ".join(data.themes)),
            ("Change", f"from {label(data, first)} to {label(data, last)}"),
            ("Filters", "; ".join(filters.describe())),
            ("Reading a theme's course", f"one mark per timepoint: {COURSE_WORDS}"),
        ],
    )
    report.contents()
    report.page_break()
    summaries = {s.measure: s for s in data.summaries}
    for done, display in enumerate(data.displays, 1):
        measure_section(report, data, display, summaries[display.measure], large_print)
        if progress:
            progress(done, len(data.displays), display.measure)
    report.finish(out_path)
    return out_path


def label(data: JointData, key: str) -> str:
    return next((f"{k} {text}" for k, text in data.timepoints if k == key), key)


def widths(report: Report, fixed: list[float], shared: int) -> list[float]:
    """Fixed columns first, then ``shared`` columns splitting what is left of the page."""
    rest = max(report.usable_width_cm() - sum(fixed), 1.5 * shared)
    return [*fixed, *([rest / shared] * shared)] if shared else fixed


def num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def p_text(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def measure_section(
    report: Report, data: JointData, display: JointDisplay, summary: MeasureSummary, large: bool
) -> None:
    report.heading(display.measure, 1)
    if summary.norm_mean is not None:
        report.paragraph(
            f"Norm: mean {num(summary.norm_mean)}, SD {num(summary.norm_sd)} "
            f"({summary.norm_source or 'source not given'})."
        )
    waves_section(report, display, summary, large, data.filters.anonymise)
    participants_section(report, data, display)
    themes_section(report, data, display)
    timepoints_section(report, data, display)
    multiples_section(report, data, display, large)


def waves_section(report: Report, display: JointDisplay, summary: MeasureSummary, large: bool, anonymise: bool) -> None:
    report.heading("Scores at each timepoint", 2)
    norm = summary.norm_mean is not None
    headers = ["Time", "n", "Mean", "SD", "95% CI", "Median"] + (["vs norm t", "p", "d"] if norm else [])
    rows = []
    for w in summary.waves:
        row = [w.timepoint, str(w.n), num(w.mean), num(w.sd), f"{num(w.ci_low)} to {num(w.ci_high)}", num(w.median)]
        if norm:
            row += [num(w.norm_t, 2), p_text(w.norm_p), num(w.d_norm, 2)]
        rows.append(row)
    fixed = [1.4, 1.0, 1.6, 1.4, 3.2, 1.6] + ([2.0, 1.6, 1.4] if norm else [])
    report.table(headers, rows, widths(report, fixed, 0), CELL_STYLE, keep_together=True)
    report.paragraph(f"Each participant's {display.measure} at each timepoint:", keep_next=True)
    keys = [w.timepoint for w in summary.waves]
    lines = [[row.scores.get(k) for k in keys] for row in display.participants]
    png = score_charts.spaghetti(
        keys,
        lines,
        [w.mean for w in summary.waves],
        [(w.ci_low, w.ci_high) for w in summary.waves],
        summary.norm_mean,
        display.measure,
        large,
    )
    if png is not None:
        means = "; ".join(f"{w.timepoint} mean {num(w.mean)} (95% CI {num(w.ci_low)} to {num(w.ci_high)})"
                          for w in summary.waves)  # fmt: skip
        report.picture(png, 15.0, f"Line chart of {display.measure} for each of {len(lines)} participants; {means}.")
        report.paragraph(
            "Grey: each participant (a gap where a wave was missed). Blue: the mean with its 95% confidence "
            "interval." + (" Dashed: the norm." if norm else ""),
            style=CAPTION_STYLE,
        )
    omnibus = summary.omnibus
    if omnibus is not None and omnibus.anova_f is not None:
        report.paragraph(
            f"Across {', '.join(omnibus.timepoints)}, over the {omnibus.n_complete} participants scored at every "
            f"timepoint ({omnibus.n_dropped} left out): repeated-measures ANOVA F({omnibus.anova_df1}, "
            f"{omnibus.anova_df2}) = {num(omnibus.anova_f, 2)}, p = {p_text(omnibus.anova_p)}, partial η² = "
            f"{num(omnibus.partial_eta_sq, 2)}; {method('friedman', anonymise)} χ²({omnibus.friedman_df}) = "
            f"{num(omnibus.friedman_chi2, 2)}, "
            f"p = {p_text(omnibus.friedman_p)}.",
            bold_prefix="Change across all timepoints. ",
        )
    model = summary.mixed_model
    if model is not None:
        effects = "; ".join(
            f"{e.term} {e.estimate:+.1f} (95% CI {e.ci_low:.1f} to {e.ci_high:.1f}, p = {p_text(e.p)})"
            for e in model.effects
        )
        report.paragraph(
            f"Linear mixed model with a random intercept per participant ({model.n_participants} participants, "
            f"{model.n_observations} scores; those who missed a wave are kept): {effects}.",
            bold_prefix="Mixed model. ",
        )
    elif summary.note:
        report.paragraph(summary.note[:1].upper() + summary.note[1:] + ".", bold_prefix="Note. ")


def participants_section(report: Report, data: JointData, display: JointDisplay) -> None:
    report.heading("Participants: change and themes", 2)
    keys = [k for k, _ in data.timepoints]
    headers = ["Participant", *keys, "Change", "Reliable change", *data.themes]
    rows = []
    for row in display.participants:
        change = row.change
        rows.append(
            [
                row.participant,
                *(num(row.scores.get(k)) for k in keys),
                "–" if change is None else f"{change.difference:+.1f}",
                "not computed" if change is None else change.category,
                *(course.pattern for course in row.themes),
            ]
        )
    report.table(headers, rows, widths(report, [2.3, *([1.3] * len(keys)), 1.5, 2.6], len(data.themes)), CELL_STYLE)
    report.paragraph(
        f"Change from {display.from_} to {display.to}, {method('reliable', data.filters.anonymise)}. Theme courses: "
        f"{COURSE_WORDS}.",
        style=CAPTION_STYLE,
    )
    changed = [r for r in display.participants if r.change and r.change.category != "no reliable change"]
    quoted = [(r, c) for r in changed for c in r.themes if c.quote]
    if quoted:
        report.heading(f"In their words at {display.to}, for those who changed reliably", 3)
        for row, course in quoted:  # body paragraphs: the quote style keeps each with the next, a long chain
            category = row.change.category if row.change else ""
            prefix, quote = f"{row.participant} ({category}), {course.code}: ", f"“{course.quote.strip()}”"
            report.runs([(prefix, True, False), (quote, False, True)])
            report.account(prefix + quote)


def themes_section(report: Report, data: JointData, display: JointDisplay) -> None:
    report.heading("Themes by change group", 2)
    headers = ["Theme", "Time", *(c.capitalize() for c in CATEGORIES)]
    rows = [[t.code, t.timepoint, *(f"{t.voiced_by[c]} of {t.of[c]}" for c in CATEGORIES)] for t in display.themes]
    report.table(headers, rows, widths(report, [4.5, 1.5], len(CATEGORIES)), CELL_STYLE)
    report.paragraph(
        "How many participants in each reliable-change group voiced the theme at each timepoint.",
        style=CAPTION_STYLE,
    )


def timepoints_section(report: Report, data: JointData, display: JointDisplay) -> None:
    report.heading("Mean score beside the themes", 2)
    headers = ["Time", "n", "Mean (95% CI)", *data.themes]
    rows = [
        [
            t.timepoint,
            str(t.n),
            f"{num(t.mean)} ({num(t.ci_low)} to {num(t.ci_high)})",
            *(f"{round(100 * t.voicing.get(theme, 0.0))}%" for theme in data.themes),
        ]
        for t in display.timepoints
    ]
    report.table(headers, rows, widths(report, [1.5, 1.0, 3.6], len(data.themes)), CELL_STYLE, keep_together=True)
    report.paragraph(
        "Each theme: the share of the participants interviewed at that timepoint who voiced it.", style=CAPTION_STYLE
    )


def multiples_section(report: Report, data: JointData, display: JointDisplay, large: bool) -> None:
    keys = [k for k, _ in data.timepoints]
    panels = [
        score_charts.Panel(
            row.participant,
            tuple(row.scores.get(k) for k in keys),
            tuple(course.pattern for course in row.themes),
            row.change.category if row.change else "",
        )
        for row in display.participants
    ]
    values = [v for p in panels for v in p.scores if v is not None]
    png = score_charts.small_multiples(keys, panels, data.themes, min(values, default=0), max(values, default=1),
                                       large)  # fmt: skip
    if png is None:
        return
    report.heading("Each participant", 2)
    alt = "; ".join(
        f"{p.participant}: " + ", ".join(f"{k} {num(v)}" for k, v in zip(keys, p.scores, strict=True)) for p in panels
    )
    report.picture(png, 15.0, f"Small multiples of {display.measure} per participant: {alt}.")
    report.paragraph(
        f"Each panel: the participant's {display.measure} at each timepoint, then one row per theme "
        f"({score_charts.theme_key(data.themes)}): a filled square where they voiced it, an empty one where "
        "they were interviewed and did not, a dot where the interview is not coded yet.",
        style=CAPTION_STYLE,
    )
