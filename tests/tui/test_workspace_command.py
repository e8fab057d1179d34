"""``waveqda tui PROJECT`` and ``waveqda PROJECT``: the command that opens the workspace."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from app.cli import app as cli


def test_tui_command_is_registered_with_a_coder_option():
    result = CliRunner().invoke(cli, ["tui", "--help"])
    assert result.exit_code == 0
    assert "--coder" in result.output


def test_missing_project_is_one_line_error_not_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", str(tmp_path / "nope.wqda")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("waveqda: error:") and "Traceback" not in proc.stderr


def test_spacy_is_not_imported_to_start_the_workspace():
    code = "import sys, app.cli, app.tui.app; print('spacy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
