"""Blind coding from the command line (issue 16): read commands read as the coder (``$WAVEQDA_CODER``), and
on a project file whoever switched blind coding on is its owner. (The filter itself is tested on both
engines in test_blind.py.)"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile

from models import blind


def test_the_command_line_reads_as_the_coder(coded_study) -> None:
    project = coded_study.project
    blind.switch_on(project, "lead", ["P01/T1"])
    cli = [sys.executable, "-c", "from app.cli import main; main()"]
    base = [*cli, "blind", "on", str(project.path), "P02/T1", "--coder"]
    refused = subprocess.run([*base, "ben"], capture_output=True, text=True)
    assert refused.returncode == 1  # on a file, whoever switched blind coding on is its owner
    assert refused.stderr == "waveqda: error: only lead, who switched blind coding on, can switch blind coding on\n"
    assert subprocess.run([*base, "lead"], capture_output=True, text=True).returncode == 0

    def shown(coder: str) -> set[tuple[str, str]]:
        done = subprocess.run(
            [*cli, "codings", str(project.path), "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "WAVEQDA_CODER": coder},
        )
        assert done.returncode == 0, done.stderr
        return {(f"{c['participant']}/{c['timepoint']}", c["coder"]) for c in json.loads(done.stdout)}

    assert ("P01/T1", "ana") not in shown("ben") and ("P01/T1", "ben") in shown("ben")
    assert ("P01/T1", "ben") not in shown("ana") and ("P01/T1", "ana") in shown("ana")
    assert {("P01/T1", "ana"), ("P01/T1", "ben")} <= shown("lead")
    listed = subprocess.run([*cli, "blind", "list", str(project.path), "--json"], capture_output=True, text=True)
    assert [(e["transcript"], e["by"]) for e in json.loads(listed.stdout)] == [("P01/T1", "lead"), ("P02/T1", "lead")]


def test_counts_and_consensus_on_the_command_line_respect_blind_coding(coded_study) -> None:
    """`transcripts` and `show` count codings as the coder sees them; `consensus-agreed` is refused for a
    coder in blind transcripts with one line and nothing stored."""
    project = coded_study.project
    blind.switch_on(project, "lead", ["P01/T1"])
    cli = [sys.executable, "-c", "from app.cli import main; main()"]

    def run(coder: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "WAVEQDA_CODER": coder}
        return subprocess.run([*cli, *args], capture_output=True, text=True, env=env)

    def counted(coder: str) -> int:
        done = run(coder, "transcripts", str(project.path), "--json")
        assert done.returncode == 0, done.stderr
        [row] = [r for r in json.loads(done.stdout) if f"{r['participant']}/{r['timepoint']}" == "P01/T1"]
        shown = json.loads(run(coder, "show", str(project.path), "P01/T1", "--json").stdout)["codings"]
        assert shown == row["codings"]
        return row["codings"]

    with sqlite3.connect(project.path) as db:  # the truth, read past waveqda
        by_coder = [
            name
            for (name,) in db.execute(
                "SELECT coders.name FROM codings JOIN coders ON coders.id = codings.coder_id "
                "WHERE codings.transcript_id = ?",
                (coded_study.transcripts["P01/T1"],),
            )
        ]
    assert counted("lead") == len(by_coder)
    assert counted("ana") == by_coder.count("ana") < len(by_coder)
    refused = run("ana", "consensus-agreed", str(project.path), "--coders", "ana", "ben")
    assert refused.returncode == 1
    assert refused.stderr.startswith("waveqda: error: P01/T1 are being coded blind: adopting agreed stretches")
    assert refused.stderr.count("\n") == 1
    assert "consensus" not in {
        c["coder"] for c in json.loads(run("lead", "codings", str(project.path), "--json").stdout)
    }


def test_a_coders_qdpx_export_holds_what_blind_coding_lets_them_see(coded_study, tmp_path) -> None:
    project = coded_study.project
    blind.switch_on(project, "lead", ["P01/T1"])
    cli = [sys.executable, "-c", "from app.cli import main; main()"]
    with sqlite3.connect(project.path) as db:
        total = db.execute("SELECT count(*) FROM codings").fetchone()[0]
        hidden_from_ana = db.execute(
            "SELECT count(*) FROM codings JOIN coders ON coders.id = codings.coder_id "
            "WHERE codings.transcript_id = ? AND coders.name != 'ana'",
            (coded_study.transcripts["P01/T1"],),
        ).fetchone()[0]
    assert hidden_from_ana

    def exported(coder: str, *command: str) -> int:
        out = tmp_path / f"{coder}-{len(command)}.qdpx"
        env = {**os.environ, "WAVEQDA_CODER": coder}
        done = subprocess.run([*cli, *command, str(project.path), str(out)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        with zipfile.ZipFile(out) as archive:
            return archive.read("project.qde").decode().count("<Coding ")

    for command in (["export"], ["refi", "export"]):
        assert exported("lead", *command) == total
        assert exported("ana", *command) == total - hidden_from_ana
