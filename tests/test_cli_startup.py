"""The command line starts quickly: listing commands imports no command module and no database code.

Issue 20: 61% of ``waveqda --help`` was importing SQLAlchemy and the ORM models. These tests count modules
(never time): a regression shows as a module that should not be there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
import typer.main

from app import commands

REPO = Path(__file__).resolve().parent.parent
# What Typer, click and Python's own start-up bring: the ceiling leaves room for a library update, not for a
# database driver or the domain layer.
HELP_MODULE_CEILING = 200


def modules_after(args: list[str]) -> list[str]:
    code = (
        "import sys, json\n"
        "from app.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_imports_no_database_code_and_few_modules() -> None:
    loaded = modules_after(["--help"])
    assert not [m for m in loaded if m.split(".")[0] in ("sqlalchemy", "models", "importers", "exporters")]
    assert not [m for m in loaded if m.startswith("app.commands.")]
    assert len(loaded) <= HELP_MODULE_CEILING, len(loaded)


def test_a_group_help_imports_only_its_module() -> None:
    loaded = modules_after(["code", "--help"])
    assert "app.commands.codebook" in loaded
    others = [
        m for m in loaded if m.startswith("app.commands.") and m not in ("app.commands.codebook", "app.commands.common")
    ]
    assert not others


def test_the_registry_lists_every_command_of_every_module_with_its_help() -> None:
    found = {}
    for module_name in commands.MODULES:
        module = __import__(f"app.commands.{module_name}", fromlist=["register"])
        holder = typer.Typer(rich_markup_mode=None)
        module.register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            found[name] = (module_name, command.get_short_help_str(80))
    assert found == {e.name: (e.module, e.help) for e in commands.COMMANDS}
