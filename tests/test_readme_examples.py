"""The README's examples, run in order as a user would type them (issue 21.12).

Every ```sh block after the first (the set-up commands) is a script: each line is one ``waveqda`` command
(a trailing ``# comment`` is dropped), run in order in a folder holding a copy of the bundled
``sample_transcripts/`` and one real NVivo export (from ``../shared``, its source renamed "Interview 3" as the
README's example names it). Every command must exit 0. A block the README marks ``<!-- not run: why -->`` on
the line before it is skipped; there should be few, each saying why.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO, SAMPLES, require_shared

README = REPO / "README.md"
BLOCK = re.compile(r"(?P<before>[^\n]*)\n```sh\n(?P<body>.*?)\n```", re.S)


def readme_commands(readme: str) -> list[str]:
    """The commands of every runnable ```sh block after the first, in order."""
    blocks = [m for m in BLOCK.finditer(readme)][1:]
    commands: list[str] = []
    for block in blocks:
        if block["before"].startswith("<!-- not run"):
            continue
        for line in block["body"].splitlines():
            command = _without_comment(line).strip()
            if command:
                commands.append(command)
    return commands


def _without_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` outside quotes that follows white space)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return shlex.join(list(lexer))
    except ValueError:
        return line


def _nvivo_project(folder: Path) -> None:
    """A real NVivo export whose one text source is named "Interview 3", as in the README."""
    sample = require_shared("refi-qda", "samples", "nvivo-win-12.6_oltas.qdpx")
    with zipfile.ZipFile(sample) as src, zipfile.ZipFile(folder / "nvivo-project.qdpx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "project.qde":
                data = data.replace(b'name="videos_selection"', b'name="Interview 3"')
            dst.writestr(item, data)


def test_readme_examples_run_in_order(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "sample_transcripts")
    _nvivo_project(tmp_path)
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert len(commands) >= 40  # the README keeps its examples
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    for number, command in enumerate(commands, 1):
        assert command.startswith("waveqda "), f"README example {number} is not a waveqda command: {command}"
        done = subprocess.run(
            shlex.split(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"README example {number} failed: {command}\n{done.stdout}\n{done.stderr}"


def test_comments_and_quotes_are_read_as_a_shell_would() -> None:
    assert _without_comment('waveqda search s.wqda "a # b"  # find it') == "waveqda search s.wqda 'a # b'"
    text = (
        "x\n```sh\nsetup\n```\nintro\n```sh\nwaveqda a  # c\n\nwaveqda b\n```\n"
        "<!-- not run: needs X -->\n```sh\nwaveqda c\n```"
    )
    assert readme_commands(text) == ["waveqda a", "waveqda b"]
