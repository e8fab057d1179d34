"""Regenerate the README's table of rendered report pages (``docs/images/export-*.png``).

Builds the demo study (``waveqda demo``: imported and partly coded by two coders), exports every Word report
kind, converts them all to PDF in one LibreOffice run and renders one telling page of each with pdftoppm:

    .venv/bin/python docs/make_report_images.py [export-joint ...]

Needs LibreOffice (``soffice``) and poppler (``pdftoppm``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.demo import build_demo  # noqa: E402
from exporters.dispatch import ExportOptions, run_export  # noqa: E402
from exporters.filters import ExportFilters  # noqa: E402
from models.store import open_project  # noqa: E402

# image name: (kind, options, filters, page shown)
PAGES = {
    "export-themes": ("themes", {}, {}, 3),  # the summary: heat map
    "export-themes-summary": ("themes", {}, {}, 4),  # who spoke to each theme, how themes changed
    "export-themes-large-print": ("themes", {"large_print": True}, {}, 11),
    "export-framework": ("framework", {}, {}, 5),
    "export-codebook": ("codebook", {}, {}, 3),
    "export-transcript": ("transcript", {"transcript": "P01/T2"}, {}, 1),
    "export-disagreements": ("disagreements", {}, {"coders": ["Ann", "Ben"]}, 3),
    "export-cards": ("cards", {}, {}, 3),
    "export-joint": (
        "joint",
        {"measures": ["wemwbs"]},
        {"codes": ["Support", "Feeling valued", "Barriers to the role"]},
        3,
    ),
}


def main() -> int:
    """``make_report_images.py [NAME...]``: only the images named (e.g. ``export-joint``), else all."""
    wanted = sys.argv[1:]
    for name in [n for n in PAGES if wanted and n not in wanted]:
        del PAGES[name]
    out_dir = REPO / "docs" / "images"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build_demo(work / "demo.wqda")
        project = open_project(work / "demo.wqda")
        try:
            for name, (kind, options, filters, _page) in PAGES.items():
                run_export(project, work / f"{name}.docx", kind, ExportFilters(**filters), ExportOptions(**options))
        finally:
            project.close()
        soffice = shutil.which("soffice")
        if soffice is None:
            raise SystemExit("soffice (LibreOffice) is needed")
        docs = [str(work / f"{name}.docx") for name in PAGES]
        profile = f"-env:UserInstallation=file://{work / 'profile'}"
        subprocess.run([soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(work), *docs],
                       check=True, capture_output=True)  # fmt: skip
        for name, (_kind, _options, _filters, page) in PAGES.items():
            target = work / f"{name}-page"
            subprocess.run(["pdftoppm", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile", "-png",
                            str(work / f"{name}.pdf"), str(target)], check=True)  # fmt: skip
            shutil.copyfile(target.with_suffix(".png"), out_dir / f"{name}.png")
            print(f"docs/images/{name}.png: page {page} of {name}.pdf")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
