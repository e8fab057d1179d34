"""Questionnaire commands: ``measure add`` and ``scores import|compare`` (issue 17)."""

from __future__ import annotations

from pathlib import Path

import typer

from app.commands.common import (
    ActorOpt,
    JsonOpt,
    ProjectArg,
    actor_of,
    emit_json,
    emit_table,
    open_existing,
    open_for_reading,
)


def register(app: typer.Typer) -> None:
    measure_app = typer.Typer(help="Describe questionnaire measures (range, direction, norms, reliability).")
    measure_app.command("add")(measure_add)
    app.add_typer(measure_app, name="measure")
    scores_app = typer.Typer(help="Questionnaire scores: import them, compare timepoints.")
    scores_app.command("import")(scores_import)
    scores_app.command("compare")(scores_compare)
    scores_app.command("describe")(scores_describe)
    scores_app.command("change")(scores_change)
    app.add_typer(scores_app, name="scores")
    app.command("joint")(joint)


def measure_add(
    project: str = ProjectArg,
    name: str = typer.Argument(..., help="The measure's column name, e.g. wemwbs.", metavar="NAME"),
    min_value: float | None = typer.Option(None, "--min", help="Lowest possible score."),
    max_value: float | None = typer.Option(None, "--max", help="Highest possible score."),
    higher_is: str | None = typer.Option(None, "--higher-is", help="better (the default) or worse."),
    norm_mean: float | None = typer.Option(None, "--norm-mean", help="Population norm: mean."),
    norm_sd: float | None = typer.Option(None, "--norm-sd", help="Population norm: SD."),
    norm_source: str | None = typer.Option(None, "--norm-source", help="Where the norm comes from.", metavar="TEXT"),
    reliability: float | None = typer.Option(None, "--reliability", help="e.g. Cronbach's alpha 0.89.", metavar="R"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Describe a measure; for one described already, the options given replace theirs and the rest stay."""
    from models import scores

    with open_existing(project) as proj:
        scores.add_measure(
            proj, actor_of(proj, coder_name), name, min_value, max_value, higher_is, norm_mean, norm_sd,
            norm_source, reliability,
        )  # fmt: skip
    typer.echo(f"Measure {name.strip()} described")


def scores_import(
    project: str = ProjectArg,
    path: Path = typer.Argument(..., help="A long or wide CSV or XLSX.", metavar="FILE"),
    scoring: Path | None = typer.Option(
        None,
        "--scoring",
        help="A TOML spec scoring measures from item columns (sum/mean, reverse items).",
        metavar="SPEC.toml",
    ),  # fmt: skip
    coder_name: str | None = ActorOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Import scores: long (participant, timepoint, measure, score) or wide (one column per measure), or item
    answers scored by --scoring."""
    from models import scores

    with open_existing(project) as proj:
        result = scores.import_scores(proj, actor_of(proj, coder_name), path, scoring)
    if json_out:
        emit_json(result.as_dict())
        return
    typer.echo(f"{result.file}: {result.stored} score(s) stored, {result.replaced} replaced")
    if result.not_scored:
        typer.echo(f"{result.file}: {result.not_scored} score(s) left empty: fewer items answered than the spec asks")
    if result.unknown_participants:
        typer.echo(
            f"{result.file}: not stored, participants the project does not know: "
            f"{', '.join(result.unknown_participants)}",
            err=True,
        )


def scores_compare(
    project: str = ProjectArg,
    measure: list[str] | None = typer.Option(None, "--measure", help="Only this measure (repeatable)."),
    mixed_model: bool = typer.Option(
        False, "--mixed-model", help="Fit the linear mixed model too (waveqda[stats]; ~0.4 s a measure)."
    ),
    json_out: bool = JsonOpt,
) -> None:
    """Each timepoint (n, mean, SD, CI, median, against the norm), the omnibus tests (and with --mixed-model the
    mixed model), then
    paired change between every two timepoints: t-test with CI, Wilcoxon, d_z and g_av, Holm-adjusted p.
    --json lists the paired comparisons (`scores describe --json` gives the rest)."""
    from models import score_summary, scores

    with open_existing(project) as proj, proj.read() as session:
        found = scores.compare(session, measure)
        summaries = [] if json_out else score_summary.summarise(session, measure, mixed=mixed_model)
    if json_out:
        emit_json([c.as_dict() for c in found])
        return
    print_summaries(summaries)
    typer.echo("Paired change between timepoints (participants scored at both; Holm across every row):")
    emit_table(
        [
            "measure",
            "from",
            "to",
            "pairs",
            "dropped",
            "mean from",
            "mean to",
            "diff",
            "95% CI",
            "t",
            "p",
            "p (Holm)",
            "Wilcoxon p",
            "d_z",
            "g_av",
        ],  # fmt: skip
        [
            [
                c.measure,
                c.from_,
                c.to,
                c.n_pairs,
                c.n_dropped,
                num(c.mean_from),
                num(c.mean_to),
                num(c.mean_diff),
                f"{num(c.ci_low)} to {num(c.ci_high)}",
                num(c.t),
                num(c.p, 4),
                num(c.p_holm, 4),
                num(c.wilcoxon_p, 4),
                num(c.d_z),
                num(c.g_av),
            ]  # fmt: skip
            for c in found
        ],
    )


def num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def scores_describe(
    project: str = ProjectArg,
    measure: list[str] | None = typer.Option(None, "--measure", help="Only this measure (repeatable)."),
    mixed_model: bool = typer.Option(
        True, "--mixed-model/--no-mixed-model", help="Fit the linear mixed model (waveqda[stats])."
    ),
    json_out: bool = JsonOpt,
) -> None:
    """Each measure at each timepoint (n, mean, SD, 95% CI, median, one-sample test against the norm), the
    omnibus tests across all timepoints (repeated-measures ANOVA, Friedman) and a linear mixed model."""
    from models import score_summary

    with open_existing(project) as proj, proj.read() as session:
        summaries = score_summary.summarise(session, measure, mixed=mixed_model)
    if json_out:
        emit_json([s.as_dict() for s in summaries])
        return
    print_summaries(summaries)


def print_summaries(summaries: list) -> None:
    """The text form of ``models.score_summary`` results: one block per measure."""
    for summary in summaries:
        norm = (
            f"; norm {num(summary.norm_mean)} (SD {num(summary.norm_sd)}, {summary.norm_source or 'source not given'})"
            if summary.norm_mean is not None
            else "; no norm entered"
        )
        typer.echo(f"{summary.measure}{norm}")
        emit_table(
            ["timepoint", "n", "mean", "SD", "95% CI", "median", "vs norm: t", "df", "p", "d (norm SD)"],
            [
                [
                    w.timepoint,
                    w.n,
                    num(w.mean),
                    num(w.sd),
                    f"{num(w.ci_low)} to {num(w.ci_high)}",
                    num(w.median),
                    num(w.norm_t),
                    "-" if w.norm_df is None else w.norm_df,
                    num(w.norm_p, 4),
                    num(w.d_norm),
                ]  # fmt: skip
                for w in summary.waves
            ],
        )
        omnibus = summary.omnibus
        if omnibus is not None:
            typer.echo(
                f"Across {', '.join(omnibus.timepoints)} ({omnibus.n_complete} participants scored at every one; "
                f"{omnibus.n_dropped} dropped): repeated-measures ANOVA F({num(omnibus.anova_df1, 0)}, "
                f"{num(omnibus.anova_df2, 0)}) = {num(omnibus.anova_f)}, p = {num(omnibus.anova_p, 4)}, partial "
                f"eta squared {num(omnibus.partial_eta_sq)}; Friedman chi2({num(omnibus.friedman_df, 0)}) = "
                f"{num(omnibus.friedman_chi2)}, p = {num(omnibus.friedman_p, 4)}"
            )
        model = summary.mixed_model
        if model is not None:
            effects = "; ".join(
                f"{e.term} {e.estimate:+.2f} (95% CI {e.ci_low:.2f} to {e.ci_high:.2f}, p = {e.p:.4f})"
                for e in model.effects
            )
            typer.echo(
                f"Linear mixed model (random intercept per participant, REML; {model.n_participants} participants, "
                f"{model.n_observations} scores, missed waves kept): {effects}"
            )
        if summary.note:
            typer.echo(f"Note: {summary.note}")
        elif model is None and len(summary.waves) >= 2:
            typer.echo("A linear mixed model keeping those who missed a wave: add --mixed-model")
        typer.echo("")


def scores_change(
    project: str = ProjectArg,
    measure: str = typer.Option(..., "--measure", help="The measure (it needs its reliability)."),
    first: str = typer.Option(..., "--from", help="The earlier timepoint.", metavar="T"),
    second: str = typer.Option(..., "--to", help="The later timepoint.", metavar="T"),
    json_out: bool = JsonOpt,
) -> None:
    """Reliable change per participant (Jacobson-Truax): reliably better, no reliable change, reliably worse."""
    from models import scores

    with open_existing(project) as proj, proj.read() as session:
        found = scores.reliable_change(session, measure, first, second)
    if json_out:
        emit_json([c.as_dict() for c in found])
        return
    emit_table(
        ["participant", first, second, "change", "RCI", "category"],
        [
            [c.participant, f"{c.score_from:g}", f"{c.score_to:g}", f"{c.difference:+g}", f"{c.rci:.2f}", c.category]
            for c in found
        ],  # fmt: skip
    )


def joint(
    project: str = ProjectArg,
    measure: str = typer.Option(..., "--measure", help="The measure (it needs its reliability)."),
    codes: list[str] = typer.Option(..., "--code", help="A theme to set beside the scores (repeatable)."),
    first: str | None = typer.Option(None, "--from", help="Change from (default: the first timepoint).", metavar="T"),
    second: str | None = typer.Option(None, "--to", help="Change to (default: the last timepoint).", metavar="T"),
    json_out: bool = JsonOpt,
) -> None:
    """Joint display: each participant's scores, reliable change and theme courses; themes by change group."""
    from models import scores

    with open_for_reading(project) as proj, proj.read() as session:  # themes and quotes: blind coding applies
        found = scores.joint_display(session, measure, codes, first, second)
    if json_out:
        emit_json(found.as_dict())
        return
    order = list(found.participants[0].scores) if found.participants else []
    typer.echo(f"{found.measure}: change {found.from_} -> {found.to}; themes: + present, - absent, ? not coded yet")
    emit_table(
        ["participant", *order, "change", *(c for c in codes), f"quote at {found.to}"],
        [
            [
                row.participant,
                *("-" if row.scores[k] is None else f"{row.scores[k]:g}" for k in order),
                row.change.category if row.change else "no pair",
                *(t.pattern for t in row.themes),
                " | ".join(t.quote[:60] for t in row.themes if t.quote),
            ]  # fmt: skip
            for row in found.participants
        ],
    )
    typer.echo("")
    emit_table(
        ["theme", "timepoint", *(f"{c} (voiced / all)" for c in scores.CATEGORIES)],
        [[t.code, t.timepoint, *(f"{t.voiced_by[c]} / {t.of[c]}" for c in scores.CATEGORIES)] for t in found.themes],
    )
    typer.echo("")
    emit_table(
        ["timepoint", "n", "mean", "95% CI", *(f"voicing {c}" for c in codes)],
        [
            [
                t.timepoint,
                t.n,
                "-" if t.mean is None else f"{t.mean:.2f}",
                "-" if t.ci_low is None else f"{t.ci_low:.2f} to {t.ci_high:.2f}",
                *(f"{t.voicing[c]:.0%}" for c in codes),
            ]  # fmt: skip
            for t in found.timepoints
        ],
    )
