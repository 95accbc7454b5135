#!/usr/bin/env bash
# Universe benchmark: `leadcrawl run --stages universe` on a generated SIRENE stock of ROWS legal
# units (bench/universe_gen.py: the real 35-column schema, values drawn to resemble it), side by
# side with pandas doing the same from the same Parquet (bench/universe_pandas.py). Whole
# processes under /usr/bin/time -v: wall time and peak resident memory.
#
#   bench/universe.sh [ROWS]     (default 29000000: the size of the real stock, ~2 min to generate)
#   bench/universe.sh --smoke    (100000 rows, seconds: checks the script still works)
#
# Every generated row must be accounted for by the stage's counters (companies + rejects +
# inactive = rows), and the stage and pandas must keep the same number of active companies.
# Results: /tmp/leadcrawl-bench/results/universe-ROWS.txt; figures go to bench/README.md by hand.
#
# Scoring hook (the prospects stage, issue 16 item 6): set LC_SCORE and PANDAS_SCORE to commands
# run after each side's load, in the same working folder ($W/leadcrawl with its pipeline.toml,
# and $W with universe.parquet written by pandas); each is timed the same way and reported on
# its own line and added to the load for the "load + score" line. Example:
#   LC_SCORE='leadcrawl -q run --config pipeline.toml --stages prospects' \
#   PANDAS_SCORE='python bench/prospects_sklearn.py universe.parquet' bench/universe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=29000000
SMOKE=0
if [ "${1:-}" = "--smoke" ]; then
  SMOKE=1
  ROWS=100000
elif [ -n "${1:-}" ]; then
  ROWS=$1
fi
PY=${LEADCRAWL_PYTHON:-$PWD/.venv/bin/python}
B=/tmp/leadcrawl-bench
OUT=$B/results
W=$B/universe-$ROWS
mkdir -p "$OUT" "$W/leadcrawl"
if [ ! -x /usr/bin/time ]; then
  echo "bench/universe.sh needs GNU time (/usr/bin/time): apt-get install time (./dev.sh test installs it)" >&2
  exit 1
fi
cargo build --release --locked -q
LC=$PWD/target/release/leadcrawl
REPO=$PWD

STOCK=$W/StockUniteLegale_utf8.parquet
if [ ! -s "$STOCK" ]; then
  "$PY" bench/universe_gen.py "$ROWS" "$STOCK.tmp"
  mv "$STOCK.tmp" "$STOCK"
fi
SIZE=$(du -m "$STOCK" | cut -f1)
printf '[pipeline]\noutput_dir = "out"\n[universe]\nfiles = ["%s"]\n' "$STOCK" >"$W/leadcrawl/pipeline.toml"

# Runs one command under /usr/bin/time -v in folder $1; prints "wall_s peak_MiB".
measure() {
  local dir=$1
  shift
  local log=$W/time.log
  (cd "$dir" && /usr/bin/time -v "$@" >"$W/cmd.log" 2>"$log") || { cat "$W/cmd.log" "$log" >&2; exit 1; }
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  echo "$wall $rss"
}

# An optional scoring step ($1: command, $2: folder); prints "wall_s peak_MiB" or nothing.
score_step() {
  if [ -n "$1" ]; then
    measure "$2" bash -c "PATH=$REPO/target/release:\$PATH; $1"
  fi
}

report=$OUT/universe-$ROWS.txt
{
  echo "universe load, $ROWS rows of StockUniteLegale ($SIZE MB of Parquet), $(date -u +%FT%TZ), $(nproc) cores"
  rm -rf "$W/leadcrawl/out"
  read -r lwall lrss < <(measure "$W/leadcrawl" "$LC" -q run --config pipeline.toml --stages universe)
  counts=$("$LC" status --config "$W/leadcrawl/pipeline.toml" --json | "$PY" -c '
import json, sys
s = next(x for x in json.load(sys.stdin)["stages"] if x["stage"] == "universe")
c = s["counters"]
print(c["rows"], c["companies"], c["rejects"], c["inactive"])')
  read -r rows companies rejects inactive <<<"$counts"
  out_mb=$(du -m "$W/leadcrawl/out/universe" | cut -f1)
  echo "leadcrawl universe: ${lwall}s, peak ${lrss} MiB; rows $rows = companies $companies + rejects $rejects + inactive $inactive; table $out_mb MB"
  if [ "$rows" != "$ROWS" ] || [ $((companies + rejects + inactive)) != "$ROWS" ]; then
    echo "FAIL: $ROWS rows generated, $rows read, $companies + $rejects + $inactive accounted for" >&2
    exit 1
  fi
  read -r pwall prss < <(measure "$W" "$PY" "$REPO/bench/universe_pandas.py" "$STOCK" universe.parquet)
  kept=$(tail -1 "$W/cmd.log")
  echo "pandas:             ${pwall}s, peak ${prss} MiB; companies $kept"
  if [ "$kept" != "$companies" ]; then
    echo "FAIL: pandas kept $kept active companies, leadcrawl $companies" >&2
    exit 1
  fi
  if [ -n "${LC_SCORE:-}" ]; then
    read -r swall srss < <(score_step "$LC_SCORE" "$W/leadcrawl")
    echo "leadcrawl score:    ${swall}s, peak ${srss} MiB"
    echo "leadcrawl load + score: $(awk "BEGIN { print $lwall + $swall }")s, peak $((lrss > srss ? lrss : srss)) MiB"
  fi
  if [ -n "${PANDAS_SCORE:-}" ]; then
    read -r qwall qrss < <(score_step "$PANDAS_SCORE" "$W")
    echo "pandas score:       ${qwall}s, peak ${qrss} MiB"
    echo "pandas load + score: $(awk "BEGIN { print $pwall + $qwall }")s, peak $((prss > qrss ? prss : qrss)) MiB"
  fi
} | tee "$report"
if [ "$SMOKE" = 1 ]; then
  rm -rf "$W"
  echo "smoke ok"
fi
