"""Workshop site benchmark (issue 18): a theme page with 200 quotes, and 20 readers at once.

The project is ``bench.corpus``'s standard fixture (96 transcripts of ~10,000 words, 300 codes in 3 levels,
50,000 codings by 3 coders), copied so accounts can be added. Measured:

- in-process, the theme page rendered server-side: its data read from the domain layer
  (``app.web.site.views.theme_page``: passages, 200 quotes with their text anonymised, comments, counts) and
  its HTML rendered by the site's Jinja2 template, with the page cache bypassed; wall and CPU
  (``time.process_time``), median of several runs after one warm-up, and the peak of Python allocations
  (``tracemalloc``) of one render. Two themes: the code whose theme page shows 200 quotes with the fewest
  passages behind them (the budget's case), and the busiest top-level theme (3,888 passages, page 1 of 20);
- the same page over HTTP from a server process with the cache off (every request reads and renders);
- 20 readers at once: the server a process of its own (``waveqda site``, as a workshop runs it), a load
  generator in a second process (20 asyncio clients, each logged in with its own account and session, each
  reading the site's pages in turn: the themes index, the ten top-level themes' pages, the matrix and the
  trajectories) for a fixed time; pages per second and latency percentiles, with the page cache on (as
  shipped) and off.

Budgets: theme page with 200 quotes <= 150 ms server-side; 20 concurrent readers >= 50 pages/s.

Run: ``flock /work/notes/bench.lock .venv/bin/python -m bench.bench_site`` (``--help`` for options).
Results go to stdout as Markdown and to ``bench/out/bench_site.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.bench_engine import OUT, machine_info, machine_line
from bench.corpus import build_coded_project

REPO = Path(__file__).resolve().parent.parent
READERS = 20
PASSWORD = "bench-reader-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pick_themes(path: Path) -> dict[str, int]:
    """The code with the fewest passages whose page shows 200 quotes, and the busiest top-level theme."""
    from exporters.data import passage_spans
    from models.codes import CodeTree
    from models.queries import coded_spans
    from models.store import open_project

    project = open_project(path)
    try:
        with project.read() as session:
            tree = CodeTree.load(session)
            sizes = [(len(passage_spans(coded_spans(session, cid, True))), cid, depth) for cid, depth in tree.walk()]
    finally:
        project.close()
    near = min((s for s in sizes if s[0] >= 200), key=lambda s: s[0])
    busiest = max((s for s in sizes if s[2] == 0), key=lambda s: s[0])
    return {
        f"theme page, 200 of {near[0]} passages": near[1],
        f"busiest theme, 200 of {busiest[0]} passages": busiest[1],
    }


def in_process(path: Path, themes: dict[str, int], runs: int) -> list[dict]:
    """Data and HTML of each theme page, the cache bypassed, as the server renders it."""
    import jinja2

    from app.web.site import views
    from app.web.site.app import HERE
    from models.accounts import Account
    from models.store import open_project

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    env.globals["urlencode"] = __import__("urllib.parse").parse.urlencode
    template = env.get_template("theme.html")
    base = {"csrf_token": "x" * 43, "csrf_field": "csrf_token", "path": "/themes/1", "here": "/themes/1",
            "htmx": False, "who": Account("reader01", "reader"), "anonymised": True, "names_note": ""}  # fmt: skip
    project = open_project(path)
    rows = []
    try:
        for label, code_id in themes.items():

            def render(code_id: int = code_id) -> str:
                with project.read() as session:
                    data = views.theme_page(session, code_id, views.Filters(), True)
                return template.render({**base, "data": data})

            render()  # warm: imports, SQLite page cache, parsed turn columns
            walls, cpus = [], []
            for _ in range(runs):
                cpu, wall = time.process_time(), time.perf_counter()
                html = render()
                cpus.append(1000 * (time.process_time() - cpu))
                walls.append(1000 * (time.perf_counter() - wall))
            tracemalloc.start()
            render()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            quotes = html.count('class="quote-label"')
            rows.append({"case": label, "quotes": quotes, "wall_ms": statistics.median(walls),
                         "cpu_ms": statistics.median(cpus), "min_wall_ms": min(walls),
                         "peak_mib": peak / 2**20, "html_kib": len(html.encode()) / 1024})  # fmt: skip
    finally:
        project.close()
    return rows


def add_readers(path: Path) -> None:
    from models.accounts import add_user
    from models.store import open_project

    project = open_project(path)
    try:
        for n in range(1, READERS + 1):
            add_user(project, "bench", f"reader{n:02}", "reader", PASSWORD)
    finally:
        project.close()


def start_server(path: Path, port: int, cache: bool) -> subprocess.Popen:
    """``waveqda site`` as a process (cache on), or the same app with the cache off (``--serve``)."""
    if cache:
        command = [str(REPO / ".venv" / "bin" / "waveqda"), "site", str(path), "--port", str(port)]
    else:
        command = [sys.executable, "-m", "bench.bench_site", "--serve", str(path), str(port)]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the site did not start: {server.stderr.read().decode() if server.stderr else ''}")


def serve(path: str, port: int) -> None:
    """The site with its page cache off, served exactly as ``waveqda site`` serves it (for the cold figures)."""
    import uvicorn

    from app.web.site.app import SiteConfig, create_app
    from models.store import open_project

    project = open_project(path)
    app = create_app(SiteConfig(project=path, cache=False), project)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, server_header=False)


def run_load(url: str, seconds: float, pages: list[str]) -> dict:
    """The load generator (a separate process): 20 readers with their own sessions, reading in turn."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_site", "--load", url, str(seconds), json.dumps(pages)],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _reader(url: str, n: int, pages: list[str], ready: asyncio.Queue, go: asyncio.Event, box: dict) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=300, follow_redirects=False) as client:
        form = (await client.get("/login")).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        login = await client.post("/login", data={"csrf_token": token, "name": f"reader{n:02}", "password": PASSWORD})
        assert login.status_code == 303, login.text[:200]
        await ready.put(n)
        await go.wait()
        i = n
        while time.perf_counter() < box["stop"]:
            started = time.perf_counter()
            answer = await client.get(pages[i % len(pages)])
            if answer.status_code != 200:
                raise RuntimeError(f"{pages[i % len(pages)]}: {answer.status_code}")
            box["latencies"].append(1000 * (time.perf_counter() - started))
            box["sizes"].append(len(answer.content))
            i += 1
        box["finished"] = max(box.get("finished", 0.0), time.perf_counter())


async def _load(url: str, seconds: float, pages: list[str]) -> dict:
    """Every reader logs in first (argon2 checks are not page reads), then all read for ``seconds``; a page
    counts when it has arrived whole, and the time runs until the last page asked for before the end arrives."""
    ready: asyncio.Queue = asyncio.Queue()
    go = asyncio.Event()
    box: dict = {"latencies": [], "sizes": []}
    tasks = [asyncio.create_task(_reader(url, n, pages, ready, go, box)) for n in range(1, READERS + 1)]
    for _ in range(READERS):
        await ready.get()
    start = time.perf_counter()
    box["stop"] = start + seconds
    go.set()
    await asyncio.gather(*tasks)
    elapsed = box["finished"] - start
    ordered = sorted(box["latencies"])
    return {"pages": len(ordered), "seconds": elapsed, "pages_per_s": len(ordered) / elapsed,
            "p50_ms": ordered[len(ordered) // 2], "p95_ms": ordered[int(len(ordered) * 0.95)],
            "mean_kib": statistics.mean(box["sizes"]) / 1024}  # fmt: skip


def over_http(url: str, paths: dict[str, str], runs: int) -> list[dict]:
    """One reader's requests for a page, one at a time (what one request costs the server, end to end)."""
    import httpx

    client = httpx.Client(base_url=url, timeout=120, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"csrf_token": token, "name": "reader01", "password": PASSWORD})
    rows = []
    for label, path in paths.items():
        client.get(path)
        walls = []
        for _ in range(runs):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            walls.append(1000 * (time.perf_counter() - started))
        rows.append({"case": label + " (HTTP, cache off)", "wall_ms": statistics.median(walls)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed renders per theme page")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load run")
    parser.add_argument("--serve", nargs=2, metavar=("PROJECT", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=3, metavar=("URL", "SECONDS", "PAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    if args.load:
        print(json.dumps(asyncio.run(_load(args.load[0], float(args.load[1]), json.loads(args.load[2])))))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        path = build_coded_project(Path(tmp) / "site.wqda", 32, 3, 10_000)
        themes = pick_themes(path)
        rows = in_process(path, themes, args.runs)
        add_readers(path)
        from models.codes import CodeTree
        from models.store import open_project

        project = open_project(path)
        with project.read() as session:
            tree = CodeTree.load(session)
            tops = [cid for cid in tree.children[None] if not tree.codes[cid].archived]
        project.close()
        pages = ["/", *(f"/themes/{cid}" for cid in tops), "/matrix", "/trajectories"]
        loads = {}
        for cache in (False, True):
            port = free_port()
            server = start_server(path, port, cache)
            try:
                url = f"http://127.0.0.1:{port}"
                if not cache:
                    rows += over_http(url, {k: f"/themes/{v}" for k, v in themes.items()}, args.runs)
                loads["cache on (as shipped)" if cache else "cache off"] = run_load(url, args.seconds, pages)
            finally:
                server.terminate()
                server.wait(timeout=30)
    lines = ["| case | quotes | wall ms (median) | CPU ms | peak MiB | HTML KiB |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row.get('quotes', '')} | {row['wall_ms']:.0f} | "
            + (
                f"{row['cpu_ms']:.0f} | {row['peak_mib']:.1f} | {row['html_kib']:.0f} |"
                if "cpu_ms" in row
                else " | | |"
            )
        )
    lines += ["", f"| {READERS} readers, {args.seconds:.0f} s | pages | pages/s | p50 ms | p95 ms | mean page KiB |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for label, found in loads.items():
        lines.append(f"| {label} | {found['pages']} | {found['pages_per_s']:.1f} | {found['p50_ms']:.0f} | "
                     f"{found['p95_ms']:.0f} | {found['mean_kib']:.0f} |")  # fmt: skip
    lines += ["", f"Pages read in turn: {', '.join(pages)}", "",
              f"Machine: {machine_line(machine_info())} Load average before: {load_before:.2f}.",
              "Command: `flock /work/notes/bench.lock .venv/bin/python -m bench.bench_site`"]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    (OUT / "bench_site.md").write_text(text + "\n")
    (OUT / "bench_site.json").write_text(json.dumps({"render": rows, "load": loads}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
