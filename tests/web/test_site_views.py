"""The site's pages read the domain layer (issue 18): a page of quotes is anonymised exactly as an export is,
although it replaces names around each quote rather than over whole transcripts."""

from __future__ import annotations

from pathlib import Path

from exporters.data import Texts, passage_spans, quotes_of
from models.codes import CodeTree
from models.names import add_entry, export_anonymiser
from models.queries import coded_spans, load_layouts, retrieve, segments_by_id
from models.store import open_project
from tests.web.site_support import copy_project


def test_quotes_on_a_page_are_anonymised_as_over_the_whole_transcript(demo_template: Path, tmp_path: Path) -> None:
    from app.web.site import views

    project = open_project(copy_project(demo_template, tmp_path / "demo.wqda"))
    try:
        with project.read() as session:
            segments = retrieve(session)
        # names at the very edges of quotes (cut by a coding boundary) and inside them
        edges = set()
        for seg in segments:
            words = [w.strip(".,!?;:'\"") for w in seg.text.split()]
            edges.update(w.casefold() for w in (words[0], words[-1]) if len(w) > 3 and w.isalpha())
        edges.discard("sandra")
        for n, word in enumerate(sorted(edges)[:40]):
            add_entry(project, "tester", word, replacement=f"[Name {n}]")
        add_entry(project, "tester", "Sandra", replacement="[Colleague A]")
        with project.read() as session:
            tree = CodeTree.load(session)
            anonymiser = export_anonymiser(session, True)
            compared = 0
            for code_id in tree.children[None]:
                page = views.theme_page(session, code_id, views.Filters(), True)
                passages = passage_spans(coded_spans(session, code_id, True))
                full = segments_by_id(session, [i for p in passages for i in p.coding_ids], context="turn")
                quotes = quotes_of(passages, full)
                reference = Texts(load_layouts(session, {q.transcript_id for q in quotes}, sentences=False), anonymiser)
                assert [q.id for q in page.quotes] == [q.id for q in quotes]
                for shown, quote in zip(page.quotes, quotes, strict=True):
                    assert [part.text for part in shown.spoken] == [text for _turn, text in reference.spoken(quote)]
                    compared += 1
        assert compared > 20
        with project.read() as session:
            every = " ".join(
                part.text
                for code_id in tree.children[None]
                for q in views.theme_page(session, code_id, views.Filters(), True).quotes
                for part in q.spoken
            )
        assert "Sandra" not in every and "[Colleague A]" in every
    finally:
        project.close()


def test_the_page_cache_reads_a_page_once_for_readers_at_once_and_forgets_it_after_a_change() -> None:
    import threading
    import time

    from app.web.site.app import ViewCache

    cache = ViewCache(size=2)
    calls: list[int] = []

    def read() -> str:
        calls.append(1)
        time.sleep(0.05)  # a slow read: the other readers arrive while it runs
        return "page"

    threads = [threading.Thread(target=lambda: cache.get((1,), ("theme", 1), read)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert cache.get((1,), ("theme", 1), read) == "page" and len(calls) == 1
    cache.get((2,), ("theme", 1), read)  # the project changed: read again
    assert len(calls) == 2
    for n in range(3):
        cache.get((2,), ("other", n), lambda: "x")
    assert len(cache.items) == 2  # the oldest went
    assert ViewCache(size=0).get((1,), ("a",), lambda: "fresh") == "fresh"
