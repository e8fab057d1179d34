"""Write the README's tables of import formats and export kinds from their registries.

``importers/formats.py`` and ``exporters/kinds.py`` are what the CLI and the workspace use; the README shows
the same lists. Run ``.venv/bin/python docs/registry_tables.py`` after changing either registry;
``tests/test_registries.py`` fails while the README is out of step.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporters.kinds import kinds_table  # noqa: E402
from exporters.refi_clients import clients_table  # noqa: E402
from importers.formats import formats_table  # noqa: E402

README = ROOT / "README.md"
SECTIONS = {"import-formats": formats_table, "export-kinds": kinds_table, "refi-clients": clients_table}


def with_tables(text: str) -> str:
    """``text`` with each generated section (between its two markers) replaced by the registry's table."""
    for name, table in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}: [^\n]*-->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md: no <!-- {name}: ... --> section")
        text = pattern.sub(lambda m, t=table: m.group(1) + t() + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    README.write_text(with_tables(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the tables in {README}")
