#!/usr/bin/env bash
# What the check before an anonymised export costs (issue 11; docs/benchmarks.md, "The check before an
# anonymised export"): plain and --anonymise exports of the 98-name benchmark project, each a whole process.
#   flock /work/notes/bench.lock bash bench/anonymised_exports.sh
# Needs the register project that `python -m bench.bench_names` builds in bench/out/names/.
cd "$(dirname "$0")/.." || exit 1
D=$(mktemp -d -p bench/out)
trap 'rm -rf "$D"' EXIT
.venv/bin/python -c "
import sys; sys.path.insert(0, '.')
from pathlib import Path
from bench.bench_engine import sqlite_copy
sqlite_copy(next(Path('bench/out/names').glob('register-*-r98-*.wqda')), Path('$D/p.wqda'))
"
W=.venv/bin/waveqda
$W names "$D/p.wqda" scan --json > /dev/null
$W names "$D/p.wqda" accept --all > /dev/null
for args in "p.qdpx" "p.qdpx --anonymise" "t.docx --kind themes" "t.docx --kind themes --anonymise" \
    "c.csv --kind codings" "c.csv --kind codings --anonymise"; do
  # shellcheck disable=SC2086
  set -- $args
  out=$1
  shift
  /usr/bin/time -f "%U+%S s CPU, %e s wall, %M KB peak  export $out $*" $W export "$D/p.wqda" "$D/$out" "$@" > /dev/null
done
