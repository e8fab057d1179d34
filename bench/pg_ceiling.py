"""Where the PostgreSQL write ceiling comes from (issue 16): ``bench_writers``' writers (each change its own
``coding.apply_codes``) on a throwaway cluster, durable or without fsync, with the server's CPU per change read
from /proc beside the clients' own. On 2 cores shared by the clients and the server, 500 changes/s needs the
two together to cost at most 4 ms of CPU per change.

    flock /work/notes/bench.lock .venv/bin/python -m bench.pg_ceiling PROJECT durable|fast [WRITERS]
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path


def server_cpu(data_dir: Path | str | None = None) -> float:
    """CPU seconds used so far by PostgreSQL: the postmaster of the cluster in ``data_dir`` and its backends
    (other clusters on the machine, a test suite's for example, are not counted), or with no ``data_dir``
    every PostgreSQL process."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = None
    if data_dir is not None:
        postmaster = (Path(data_dir) / "postmaster.pid").read_text().split()[0]
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if not comm.startswith(("postgres", "postmaster")):
            continue
        if postmaster is not None and postmaster not in (pid, fields[1]):  # fields[1]: the parent's pid
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def main(source: Path, durable: bool, writers: int, per_writer: int = 200) -> None:
    from bench.bench_writers import run_writers
    from models.project_copy import copy_project
    from tests import pg_cluster

    cluster = pg_cluster.start(durable=durable)
    try:
        url = cluster.create_database("ceiling")
        copy_project(source, url)
        gc.collect()  # the copy's connections closed, and their backends' CPU counted, before the baseline
        time.sleep(2)
        before, wall0 = server_cpu(cluster.data_dir), time.perf_counter()
        result = run_writers(url, writers, per_writer)
        server_ms = 1000 * (server_cpu(cluster.data_dir) - before) / result["codings"]
        print(
            f"durable={durable} writers={writers}: {result['codings_per_s']:.0f} changes/s, client CPU "
            f"{result['cpu_ms_per_coding']:.2f} ms + server CPU {server_ms:.2f} ms per change "
            f"(others busy {result['others_busy']:.0%}, {time.perf_counter() - wall0:.1f} s)"
        )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] == "durable", int(sys.argv[3]) if len(sys.argv) > 3 else 8)
