"""Blind coding from the command line (issue 16): read commands read as the coder (``$WAVEQDA_CODER``), and
on a project file whoever switched blind coding on is its owner. (The filter itself is tested on both
engines in test_blind.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
