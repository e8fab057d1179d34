"""Sentence splitting in a second process, so that a REFI-QDA import uses the machine's second core.

Why: splitting a large import's transcripts into sentences needs spaCy (importing it and building its blank
English pipeline, ~1.3 s) and tokenizing every turn (~1.6 s for a million words): about a quarter of a
50,000-coding ``.qdpx`` import, and none of it needs the database. A worker forked when the import starts
loads spaCy while this process parses the file, then splits each transcript's turns (sent to it all at once
when the import is planned) while this process stores the transcripts before it. This process only waits
when it is ahead. The CPU time is the same (a little more); the wall time drops.

The worker runs ``nlp.sentence_spans`` itself, so its spans are those of an in-process split (the result is
identical). It never touches the database: it is forked before the project is opened or created, gets
texts through a pipe and sends spans back. Ctrl-C is this process's to handle (the worker ignores it and is
ended with the import); if the worker fails or dies, the import stops with one line naming the file and,
being one transaction, stores nothing. A codebook (``.qdc``), a one-core machine or an import run from a
thread other than the main one does not start it (``worth_a_worker``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path

from models import nlp
from models.errors import WaveqdaError

Spans = list[list[tuple[int, int]]]
Job = tuple[list[str], list[int], str | None]  # a transcript's turn texts, their offsets, the spaCy model


def worth_a_worker(file: Path) -> bool:
    """Whether an import of ``file`` should split its sentences in a worker: a ``.qdpx`` (a ``.qdc`` codebook
    has no text) on a machine with a second core, imported from the main thread (the command line). Why no
    size limit: even a 2 KB package imported 0.3 s sooner with the worker (spaCy loads while the file is
    parsed and the project created) at no more CPU (docs/benchmarks.md, "The import budget, fifth pass").
    Why not from another thread (the workspace imports in a Textual worker thread): forking a process whose
    other threads may hold locks (a module being imported, say) can leave the child waiting forever."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    return file.suffix.lower() == ".qdpx" and in_main_thread and _cores() > 1 and hasattr(os, "fork")


def _cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class SentenceWorker:
    """A forked process that splits transcripts' turns into sentences, in the order they were sent.

    ``split_ahead`` sends the jobs (once); calling the worker like ``nlp.sentence_spans`` returns the spans
    of the next job with those texts, offsets and model (jobs skipped by the caller, e.g. a text the project
    already has, are passed over; a call matching no job is split in this process). Use it as a context
    manager: leaving ends the process, whatever happened."""

    def __init__(self, file_name: str) -> None:
        import multiprocessing

        self.file_name = file_name
        context = multiprocessing.get_context("fork")  # no re-import of the app: the child starts as a copy
        worker_jobs, self._jobs = context.Pipe(duplex=False)  # (receiving end, sending end)
        self._results, worker_results = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(worker_jobs, worker_results, self._jobs, self._results), daemon=True
        )
        self._process.start()
        worker_jobs.close()  # our copies of the worker's ends: each side sees end-of-file when the other goes
        worker_results.close()
        self._pending: deque[Job] = deque()

    def split_ahead(self, jobs: list[Job]) -> None:
        """Send every job at once. The worker reads them all before it answers, so the two never wait on each
        other; this process waits here only while the worker is still loading spaCy."""
        self._pending.extend(jobs)
        self._send(jobs)

    def __call__(self, texts: list[str], offsets: list[int], model: str | None = None) -> Spans:
        while self._pending:
            job = self._pending.popleft()
            spans = self._receive()
            if job == (texts, offsets, model):
                return spans
        return nlp.sentence_spans(texts, offsets, model)

    def close(self) -> None:
        for end in (self._jobs, self._results):
            end.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()

    def __enter__(self) -> SentenceWorker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, jobs: list[Job]) -> None:
        try:
            self._jobs.send(jobs)
        except OSError as exc:  # the worker is gone (a broken pipe): say why, when it said
            raise self._failed(self._last_words() or f"it ended early: {exc}") from exc

    def _receive(self) -> Spans:
        try:
            status, value = self._results.recv()
        except (EOFError, OSError) as exc:
            raise self._failed(f"it ended early (exit code {self._exit_code()})") from exc
        if status != "ok":
            raise self._failed(value)
        return value

    def _last_words(self) -> str | None:
        """The error the worker sent before it ended, if it sent one."""
        try:
            if self._results.poll():
                status, value = self._results.recv()
                return value if status != "ok" else None
        except (EOFError, OSError):
            pass
        return None

    def _exit_code(self) -> int | None:
        self._process.join(timeout=1)
        return self._process.exitcode

    def _failed(self, reason: str) -> WaveqdaError:
        return WaveqdaError(f"{self.file_name}: splitting sentences failed in the worker process ({reason}); "
                            "nothing was imported")  # fmt: skip


def _serve(jobs_in: Connection, results_out: Connection, *parents_ends: Connection) -> None:
    """The worker: load spaCy, wait for the jobs, answer each in order. Ctrl-C is ignored (the parent ends
    the worker); an error is sent back as one line; a vanished parent (end of file) ends it quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for end in parents_ends:
        end.close()
    try:
        nlp.sentence_pipeline(None)  # while the parent parses; a project's trained model loads on first use
        jobs: list[Job] = jobs_in.recv()
        for texts, offsets, model in jobs:
            results_out.send(("ok", nlp.sentence_spans(texts, offsets, model)))
    except (EOFError, BrokenPipeError):
        return
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops the import
        with contextlib.suppress(OSError):  # the parent may be gone already
            results_out.send(("error", " ".join(f"{type(exc).__name__}: {exc}".splitlines())))
