"""Dependencies point one way: ``app -> exporters, importers -> models``.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked with import-linter on the
real code, and on a small tree that breaks each of them, so the check is known to fail when it should.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT), "pyproject.toml", "--no-cache"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_code_keeps_every_layer_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "3 kept" in result.stdout


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_lower_layer_importing_a_higher_one_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    packages = {f"{name}/__init__.py": "" for name in ("app", "exporters", "importers", "models")}
    modules = {
        "app/cli.py": "import models.store\n",
        "models/store.py": "",
        "models/schema.py": "",
        "models/journal.py": "",
    }
    write(tmp_path, packages | modules)
    assert lint(tmp_path).returncode == 0  # the fixture itself is clean

    write(tmp_path, {"models/transcripts.py": "from importers import base\n", "importers/base.py": ""})
    broken = lint(tmp_path)
    assert broken.returncode == 1
    assert "models.transcripts -> importers.base" in broken.stdout

    (tmp_path / "models/transcripts.py").write_text("")
    write(tmp_path, {"importers/refi.py": "from exporters import refi_export\n", "exporters/refi_export.py": ""})
    assert "importers.refi -> exporters.refi_export" in lint(tmp_path).stdout

    (tmp_path / "importers/refi.py").write_text("from sqlalchemy.orm import Session\n")
    assert "importers.refi -> sqlalchemy" in lint(tmp_path).stdout

    (tmp_path / "importers/refi.py").write_text("")
    (tmp_path / "models/store.py").write_text("import textual\n")
    assert "models.store -> textual" in lint(tmp_path).stdout
