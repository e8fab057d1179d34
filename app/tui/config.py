"""Per-machine workspace settings: who is coding each project, and the chosen theme.

Why not in the project file: the same project file is shared between researchers (or merged later), but the
person at this keyboard is a fact about this machine. Kept as JSON in the platform's config folder
(``WAVEQDA_CONFIG_DIR`` overrides it, which tests use).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    override = os.environ.get("WAVEQDA_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("waveqda", appauthor=False))


def _file(directory: Path | None = None) -> Path:
    return (directory or config_dir()) / "workspace.json"


def load(directory: Path | None = None) -> dict[str, Any]:
    try:
        data = json.loads(_file(directory).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(data: dict[str, Any], directory: Path | None = None) -> None:
    """Write atomically (a half-written config must never lose who is coding)."""
    from models.project_file import write_private

    path = _file(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    write_private(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def project_key(project_path: Path | str | None) -> str:
    return str(Path(project_path).expanduser().resolve()) if project_path else ""


def remembered_coder(project_path: Path | str | None, directory: Path | None = None) -> str | None:
    name = load(directory).get("coders", {}).get(project_key(project_path))
    return name if isinstance(name, str) and name.strip() else None


def remember_coder(project_path: Path | str | None, name: str, directory: Path | None = None) -> None:
    data = load(directory)
    data.setdefault("coders", {})[project_key(project_path)] = name
    save(data, directory)


def remembered_theme(directory: Path | None = None) -> str | None:
    theme = load(directory).get("theme")
    return theme if isinstance(theme, str) else None


def remember_theme(theme: str, directory: Path | None = None) -> None:
    data = load(directory)
    data["theme"] = theme
    save(data, directory)


def first_time_warned(kind: str, project_path: Path | str | None, directory: Path | None = None) -> bool:
    """True the first time ``kind`` is asked for this project on this machine (then remembered), so a
    warning is shown once rather than on every command."""
    data = load(directory)
    seen = data.setdefault("warned", {}).setdefault(kind, [])
    key = project_key(project_path)
    if key in seen:
        return False
    seen.append(key)
    from models.errors import WaveqdaError

    with contextlib.suppress(OSError, WaveqdaError):  # an unwritable config folder: warn again next time
        save(data, directory)
    return True
