#!/usr/bin/env bash
# Crawl benchmark: leadcrawl against Scrapy on the shared site farm, same session, same machine.
#
#   bench/crawl_farm.sh [RUNS]        (default 3 runs after 1 warm-up, medians reported)
#   bench/crawl_farm.sh --smoke       (CI: both modes once on farms of 3-4 sites x 8 pages,
#                                      leadcrawl only, served by bench/farm_serve.py instead of
#                                      nginx: seconds)
#
# Only the stages measured run: ingest (about 10 ms) and crawl. Every run's pages are checked:
# each crawlable page fetched with status 200, nothing under the disallowed /private/.
# Needs: nginx (apt), the farm tools in ../shared/bench, and for the peer a venv with scrapy at
# /tmp/leadcrawl-bench/venv (python3 -m venv /tmp/leadcrawl-bench/venv && .../pip install scrapy).
# Results: /tmp/leadcrawl-bench/results/crawl-*.txt; figures go to bench/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
RUNS=${1:-3}
SHARED=$(cd ../shared/bench && pwd)
B=/tmp/leadcrawl-bench
# A smoke run works in a folder of its own: a full run may be using the shared one.
[ "$SMOKE" = 1 ] && B=$(mktemp -d "${TMPDIR:-/tmp}/leadcrawl-crawl-smoke.XXXXXX")
OUT=$B/results
PY=$B/venv/bin/python
PYCHECK=python3
[ -x .venv/bin/python ] && PYCHECK=$PWD/.venv/bin/python
[ -n "${LEADCRAWL_PYTHON:-}" ] && PYCHECK=$LEADCRAWL_PYTHON
LC=$PWD/target/release/leadcrawl
mkdir -p "$OUT"
cargo build --release --locked -q

farm() { # hosts pages
  local dir=$B/farm-$1x$2-cd0
  [ -f "$dir/farm.json" ] || python3 "$SHARED/sitefarm/gen.py" --hosts "$1" --pages "$2" --seed 1 --crawl-delay-share 0 --out "$dir" >/dev/null || return 1
  echo "$dir"
}

SERVER=
serve_start() { # farm
  if [ "$SMOKE" = 1 ]; then
    rm -f "$1/port"
    python3 bench/farm_serve.py "$1" "$1/port" & SERVER=$!
    until [ -s "$1/port" ]; do kill -0 "$SERVER" || exit 1; sleep 0.1; done
  else
    "$SHARED/sitefarm/serve.sh" start "$1"
  fi
}
serve_stop() { # farm
  if [ "$SMOKE" = 1 ]; then
    [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
    SERVER=
  else
    "$SHARED/sitefarm/serve.sh" stop "$1"
  fi
}

config() { # farm rps pages concurrency
  cat <<TOML
[pipeline]
output_dir = "$B/lc-out"
[ingest]
input = "$1/companies.csv"
[ingest.columns]
id = "company_id"
[crawl]
contact_url = "https://example.org/leadcrawl-bench"
allow_private_networks = true
requests_per_second = $2
max_pages_per_site = $3
concurrency = $4
max_depth = 3
TOML
}

measure() { # name -- cmd...
  local name=$1; shift; shift
  echo "== $name" | tee "$OUT/$name.txt"
  if [ "$SMOKE" = 1 ]; then  # once, without GNU time: the smoke proves the script, not a figure
    local t0; t0=$(date +%s%N)
    "$@" >/dev/null
    echo "one run: $((($(date +%s%N) - t0) / 1000000)) ms" | tee -a "$OUT/$name.txt"
  else
    python3 "$SHARED/measure.py" -n "$RUNS" --warmup 1 -- "$@" | tee -a "$OUT/$name.txt"
  fi
}

run_lc() { # config file: a fresh run folder each time, ingest included (≈10 ms)
  cat > "$B/lc-run.sh" <<SH
#!/bin/sh
rm -rf $B/lc-out
exec $LC --quiet run --config $1 --stages ingest,crawl
SH
  chmod +x "$B/lc-run.sh"
}

check_lc() { # expected pages
  "$PYCHECK" - "$B/lc-out/pages" "$1" <<'PY'
import sys, glob, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]).to_pylist()
pages = [r for r in t if r["kind"] == "page"]
ok = [r for r in pages if r["status"] == 200]
private = [r for r in t if "/private/" in r["url"]]
print(f"rows {len(t)}, pages {len(pages)}, ok {len(ok)} (expected {sys.argv[2]}), private {len(private)}")
if len(ok) != int(sys.argv[2]) or private:
    sys.exit("FAIL: the crawl did not fetch exactly the farm's crawlable pages")
PY
}

cleanup() {
  if [ "$SMOKE" = 1 ]; then
    serve_stop ""
    rm -rf "$B"
  else
    "$SHARED/sitefarm/serve.sh" stop "$F" >/dev/null 2>&1 || true
  fi
}
F=
trap cleanup EXIT

# (a) fast mode: 200 hosts x 25 pages, no delay
if [ "$SMOKE" = 1 ]; then HOSTS=4 PAGES=8; else HOSTS=200 PAGES=25; fi
F=$(farm $HOSTS $PAGES)
serve_start "$F"
config "$F" 100000 $PAGES 64 > "$B/fast.toml"
run_lc "$B/fast.toml"
measure crawl-fast-leadcrawl -- "$B/lc-run.sh"
[ "$SMOKE" = 1 ] || "$B/lc-run.sh"  # the smoke's one run is still there
check_lc $((HOSTS * PAGES)) | tee -a "$OUT/crawl-fast-leadcrawl.txt"
if [ -x "$PY" ]; then
  measure crawl-fast-scrapy-xpath -- "$PY" "$SHARED/peers/scrapy_crawl.py" --fast --extract xpath --max-pages $PAGES "$F/companies.csv" "$B/scrapy-fast.jsonl"
fi
serve_stop "$F"

# (b) polite mode: 300 hosts x 10 pages, 1 request/s/host (smoke: 3 x 8 at 4 requests/s/host,
# about 3 s: gen.py makes at least 8 pages a site)
if [ "$SMOKE" = 1 ]; then HOSTS=3 PAGES=8 RPS=4.0; else HOSTS=300 PAGES=10 RPS=1.0; fi
F=$(farm $HOSTS $PAGES)
serve_start "$F"
config "$F" $RPS $PAGES 300 > "$B/polite.toml"
run_lc "$B/polite.toml"
measure crawl-polite-leadcrawl -- "$B/lc-run.sh"
[ "$SMOKE" = 1 ] || "$B/lc-run.sh"  # the smoke's one run is still there
check_lc $((HOSTS * PAGES)) | tee -a "$OUT/crawl-polite-leadcrawl.txt"
if [ -x "$PY" ]; then
  measure crawl-polite-scrapy-xpath -- "$PY" "$SHARED/peers/scrapy_crawl.py" --polite --extract xpath --max-pages $PAGES "$F/companies.csv" "$B/scrapy-polite.jsonl"
fi
serve_stop "$F"
if [ "$SMOKE" = 1 ]; then echo "smoke ok"; else echo "results in $OUT"; fi
