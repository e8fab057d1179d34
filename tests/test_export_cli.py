"""``waveqda export``: dispatch by suffix and kind, multi-value flags, one-line errors; the quote choice."""

from __future__ import annotations

import docx
import pytest
from typer.testing import CliRunner

from app.cli import app
from app.commands.export import expand_multi_values
from exporters.filters import ExportFilters, choose_quotes, parse_attribute, split_list
from models.errors import WaveqdaError
from models.queries import Segment
from tests import test_export_support as support

study, study_file = support.study, support.study_file  # the shared fixtures


def run(*args: str):
    return CliRunner().invoke(app, ["export", *args])


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("waveqda: error: "), result.output
    return lines[0]


def test_themes_with_several_codes_after_one_flag(study, tmp_path):
    out = tmp_path / "t.docx"
    result = run(str(study.path), str(out), "--kind", "themes", "--codes", "Support/Peer", "Worry", "--key-only")
    assert result.exit_code == 0, result.output
    assert f"Wrote {out} (themes)" in result.output
    headings = [
        p.text.removeprefix("\u25a0 ") for p in docx.Document(str(out)).paragraphs if p.style.name.startswith("Heading")
    ]
    assert headings == [
        "Summary", "Passages per code and timepoint", "Who spoke to each theme", "How each theme changed",
        "Support", "Peer", "Worry", "Money",
    ]  # fmt: skip


def test_every_kind_writes_its_file(study, tmp_path):
    for name, kind, extra in [
        ("a.docx", "framework", []),
        ("b.docx", "codebook", []),
        ("c.docx", "transcript", ["--transcript", "P01/T2"]),
        ("d.csv", "codings", []),
        ("e.xlsx", "matrix", []),
        ("f.xlsx", "disagreements", ["--coders", "ann", "ben"]),
        ("g.docx", "disagreements", ["--coders", "ann,ben"]),
        ("h.docx", "cards", ["--max-quotes", "2"]),
    ]:
        result = run(str(study.path), str(tmp_path / name), "--kind", kind, *extra, "--timepoints", "T1,T2")
        assert result.exit_code == 0, (name, result.output)
        assert (tmp_path / name).stat().st_size > 0


def test_refi_files_are_delegated(study, tmp_path):
    result = run(str(study.path), str(tmp_path / "c.qdc"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c.qdc").exists()
    line = one_line_error(run(str(study.path), str(tmp_path / "p.qdpx"), "--codes", "Worry"))
    assert "only --anonymise applies" in line
    assert not (tmp_path / "p.qdpx").exists()


def test_the_memo_list_refuses_report_filters_but_takes_the_privacy_ones(study, tmp_path):
    line = one_line_error(run(str(study.path), str(tmp_path / "m.csv"), "--kind", "memos", "--codes", "Worry"))
    assert "only --anonymise and --anonymise-coders apply" in line and not (tmp_path / "m.csv").exists()
    result = run(str(study.path), str(tmp_path / "m.csv"), "--kind", "memos", "--anonymise-coders")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x.csv", "--kind", "themes"], "--kind themes cannot be written as .csv"),
        (["x.pdf"], "cannot export to .pdf"),
        (["x.docx", "--codes", "Nope"], "no code 'Nope'"),
        (["x.docx", "--timepoints", "T9"], "unknown timepoint 'T9'"),
        (["x.docx", "--participants", "P99"], "no participant 'P99'"),
        (["x.docx", "--attribute", "site"], "use NAME=VALUE"),
        (["x.docx", "--attribute", "colour=red"], "no participant attribute 'colour'"),
        (["x.docx", "--coder", "zed"], "no coder 'zed'"),
        (["x.docx", "--max-quotes", "0"], "--max-quotes must be 1 or more"),
        (["x.docx", "--kind", "transcript"], "needs --transcript"),
        (["x.docx", "--kind", "transcript", "--transcript", "P09/T1"], "no transcript 'P09/T1'"),
        (["x.csv", "--kind", "disagreements"], "two or more coders"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(study, tmp_path, args, message):
    out = tmp_path / args[0]
    line = one_line_error(run(str(study.path), str(out), *args[1:]))
    assert message in line
    assert list(tmp_path.iterdir()) == [tmp_path / "study.wqda"] or not out.exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_missing_folder_is_an_error(study, tmp_path):
    assert "does not exist" in one_line_error(run(str(study.path), str(tmp_path / "no" / "t.docx")))


def test_expand_multi_values():
    assert expand_multi_values(["p", "o.docx", "--codes", "A", "B/C", "--key-only", "--coders", "x", "y"]) == [
        "p",
        "o.docx",
        "--codes",
        "A",
        "--codes",
        "B/C",
        "--key-only",
        "--coders",
        "x",
        "--coders",
        "y",
    ]
    assert expand_multi_values(["--kind", "themes", "p", "o"]) == ["--kind", "themes", "p", "o"]
    assert expand_multi_values(["--codes=A", "p", "o"]) == ["--codes=A", "p", "o"]


def test_flag_parsing_helpers():
    assert parse_attribute(" site = North ") == ("site", "North")
    with pytest.raises(WaveqdaError):
        parse_attribute("=North")
    assert split_list(["T1,T2", "T3"]) == ["T1", "T2", "T3"]
    assert split_list([]) is None
    assert "none (all coded data)" in ExportFilters().describe()
    with pytest.raises(WaveqdaError, match="not both"):
        ExportFilters(coders=["a"], consensus_only=True)


# --- quote choice --------------------------------------------------------------------------------------------


def segment(i: int, participant: str, key: bool = False, timepoint: str = "T1") -> Segment:
    return Segment(
        i,
        f"u{i}",
        1,
        participant,
        timepoint,
        "",
        0,
        7,
        "Code",
        "ann",
        i,
        i + 1,
        "x",
        "",
        key,
        "ok",
        "",
        "participant",
        0,
        0,
        i,
        i + 1,
        "x",
    )


def test_choose_quotes_key_first_then_a_spread_across_participants():
    talkative = [segment(i, "P01") for i in range(10)]
    others = [segment(10, "P02"), segment(11, "P03"), segment(12, "P04", key=True)]
    chosen = choose_quotes([*talkative, *others], 3)
    assert 12 in {s.id for s in chosen}
    assert len({s.participant for s in chosen}) == 3  # not three from the talkative P01
    assert choose_quotes([*talkative, *others], 3) == chosen  # reproducible
    assert [s.id for s in chosen] == sorted(s.id for s in chosen)  # input order kept


def test_choose_quotes_is_per_timepoint_and_changes_with_the_seed():
    pool = [segment(i, f"P{i % 5}", timepoint=f"T{i % 2}") for i in range(40)]
    chosen = choose_quotes(pool, 2)
    assert sorted(s.timepoint for s in chosen) == ["T0", "T0", "T1", "T1"]
    seeds = {tuple(s.id for s in choose_quotes(pool, 2, seed)) for seed in range(10)}
    assert len(seeds) > 1
    assert choose_quotes(pool, None) == pool
