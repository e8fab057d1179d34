"""The sentence worker (``models.sentence_worker``): a forked process that splits a REFI-QDA import's
transcripts into sentences while the import stores. Its spans must be those of the in-process split, its
failure or a Ctrl-C must leave nothing stored with one line naming the file, and it must not outlive the
import."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from importers import refi_import
from importers.refi_import import import_refi
from models import nlp, sentence_worker
from models.errors import WaveqdaError
from models.sentence_worker import SentenceWorker, worth_a_worker
from models.store import create_project
from tests.conftest import require_shared

REPO = Path(__file__).resolve().parent.parent

TEXTS = [
    ["Well. I started in March!", "Dr. Smith said so (and I meant it. Really.) that was it", "[laughs] Yes? No…"],
    ["One sentence only"],
    ["", "   ", "Mr. Jones isn't here. She's at St. Mary's. [inaudible 00:12:03] OK."],
]
OFFSETS = [[0, 30, 90], [5], [0, 1, 10]]


def sample(name: str) -> Path:
    return require_shared("refi-qda", "samples", name)


def table_rows(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_worker_gives_the_in_process_spans_skips_unasked_jobs_and_ends() -> None:
    expected = [nlp.sentence_spans(texts, offsets) for texts, offsets in zip(TEXTS, OFFSETS, strict=True)]
    with SentenceWorker("x.qdpx") as worker:
        worker.split_ahead([(texts, offsets, None) for texts, offsets in zip(TEXTS, OFFSETS, strict=True)])
        assert worker(TEXTS[0], OFFSETS[0], None) == expected[0]
        assert worker(TEXTS[2], OFFSETS[2], None) == expected[2]  # the second job is passed over
        # asked for a job it was never given: split here, the same way
        assert worker(["Another one. Two."], [7], None) == nlp.sentence_spans(["Another one. Two."], [7])
        pid = worker._process.pid
        assert pid is not None and not gone(pid)
    assert worker._process.exitcode is not None  # ended and reaped when the import is done


def test_a_worker_only_for_a_package_on_a_second_core_from_the_main_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    assert worth_a_worker(Path("study.QDPX")) == (sentence_worker._cores() > 1)
    assert not worth_a_worker(Path("codebook.qdc"))
    in_thread: list[bool] = []
    thread = threading.Thread(target=lambda: in_thread.append(worth_a_worker(Path("study.qdpx"))))
    thread.start()
    thread.join()
    assert in_thread == [False]  # the workspace's import thread splits in its own process
    monkeypatch.setattr(sentence_worker, "_cores", lambda: 1)
    assert not worth_a_worker(Path("study.qdpx"))


def test_import_with_the_worker_stores_what_the_in_process_split_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = sample("nvivo-win-12.6_oltas.qdpx")
    sent: list[int] = []
    split_ahead = SentenceWorker.split_ahead

    def counting(self: SentenceWorker, jobs: list) -> None:
        sent.append(len(jobs))
        split_ahead(self, jobs)

    monkeypatch.setattr(SentenceWorker, "split_ahead", counting)
    monkeypatch.setattr(sentence_worker, "_cores", lambda: 2)
    with_worker = tmp_path / "worker.wqda"
    import_refi(with_worker, package, timepoint="T1", participant_from_name=True)
    assert sent and sent[0] > 0  # the worker split the transcripts
    monkeypatch.setattr(refi_import, "worth_a_worker", lambda _file: False)
    in_process = tmp_path / "process.wqda"
    import_refi(in_process, package, timepoint="T1", participant_from_name=True)
    assert len(sent) == 1
    for query in (
        'SELECT transcript_id, turn_index, start, "end" FROM sentences ORDER BY id',
        'SELECT transcript_id, "index", speaker, role, start, "end" FROM turns ORDER BY id',
        "SELECT rowid, * FROM search_index_content ORDER BY rowid",
        'SELECT uuid, transcript_id, code_id, coder_id, start, "end", memo FROM codings ORDER BY id',
    ):
        rows = table_rows(with_worker, query)
        assert rows and rows == table_rows(in_process, query), query


@pytest.mark.parametrize(
    ("function", "failure", "reason"),
    [
        ("sentence_spans", "raise RuntimeError('tokenizer exploded')", r"RuntimeError: tokenizer exploded"),
        ("sentence_spans", "os._exit(3)", r"it ended early \(exit code 3\)"),
        ("sentence_pipeline", "raise OSError('no spaCy')", r"OSError: no spaCy"),
    ],
)
def test_a_failing_worker_stops_the_import_with_one_line_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, failure: str, reason: str
) -> None:
    package = sample("nvivo-win-12.6_oltas.qdpx")
    parent = os.getpid()

    def broken(*_args: object) -> list:
        if os.getpid() == parent:
            raise AssertionError("the parent split sentences itself")
        exec(failure)  # in the worker, which inherited this patch when it was forked
        return []

    monkeypatch.setattr(nlp, function, broken)
    monkeypatch.setattr(sentence_worker, "_cores", lambda: 2)
    target = tmp_path / "new.wqda"
    with pytest.raises(WaveqdaError) as raised:
        import_refi(target, package, timepoint="T1", participant_from_name=True)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{package.name}: splitting sentences failed in the worker process (")
    assert message.endswith("); nothing was imported")
    assert re.search(reason, message)
    assert not target.exists()
    assert not list(tmp_path.iterdir())  # no journal or WAL left either
    existing = tmp_path / "existing.wqda"
    create_project(existing).close()
    before = {table: table_rows(existing, f"SELECT * FROM {table}") for table in ("transcripts", "codes", "events")}
    with pytest.raises(WaveqdaError, match=f"^{re.escape(package.name)}: splitting sentences failed"):
        import_refi(existing, package, timepoint="T1", participant_from_name=True)
    assert {table: table_rows(existing, f"SELECT * FROM {table}") for table in before} == before


CTRL_C = """
import os, signal, sys
from pathlib import Path

import models.refi_store as refi_store

write_sources = refi_store.RefiWriter.write_sources


def interrupted(self):
    Path(sys.argv[3]).write_text(str(self.sentences._process.pid))
    os.killpg(0, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground process group
    write_sources(self)


refi_store.RefiWriter.write_sources = interrupted
from app.cli import main

main(["import", sys.argv[1], sys.argv[2], "--timepoint", "T1", "--participant-from-name"])
"""


def test_ctrl_c_during_the_import_ends_the_worker_stores_nothing_and_says_so(tmp_path: Path) -> None:
    package = sample("nvivo-win-12.6_oltas.qdpx")
    target, pid_file = tmp_path / "new.wqda", tmp_path / "worker.pid"
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C, str(target), str(package), str(pid_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        start_new_session=True,  # its own process group, so the test run is not interrupted too
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"waveqda: error: {package.name}: import interrupted; nothing was imported"
    assert not target.exists()
    assert gone(int(pid_file.read_text()))
