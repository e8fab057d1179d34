"""The demo project: the bundled fictional sample study, imported with its manifest and attributes."""

from __future__ import annotations

from pathlib import Path

from models.errors import WaveqdaError
from models.store import create_project, open_project


def default_samples_dir() -> Path:
    """``sample_transcripts/`` of the source checkout, else of the current folder."""
    here = Path(__file__).resolve().parent.parent / "sample_transcripts"
    return here if here.is_dir() else Path.cwd() / "sample_transcripts"


def build_demo(project_path: Path, samples: Path | None = None) -> list[str]:
    """Create (or bring up to date) a project from the samples; re-running imports nothing twice."""
    from importers.batch import import_attributes, import_paths

    samples = samples or default_samples_dir()
    manifest = samples / "manifest.csv"
    if not manifest.is_file():
        raise WaveqdaError(f"{samples}: no manifest.csv here; pass --samples FOLDER")
    project = (
        open_project(project_path)
        if project_path.exists()
        else create_project(project_path, name="Peer workers study (fictional sample)")
    )
    try:
        result = import_paths(project, [samples], manifest_path=manifest, actor="demo")
        lines = [o.message for o in result.outcomes if o.status == "failed"]
        participants_csv = samples / "participants.csv"
        if participants_csv.is_file():
            report = import_attributes(project, participants_csv, "demo")
            lines.append("attributes: " + ", ".join(f"{n} ({t})" for n, t, _ in report))
        lines.append(f"{project_path}: {result.summary()}")
    finally:
        project.close()
    if result.failed:
        raise WaveqdaError("; ".join(o.message for o in result.failed))
    return lines
