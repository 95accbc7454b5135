#!/usr/bin/env bash
# Crawl benchmark: leadcrawl against Scrapy on the shared site farm, same session, same machine.
#
#   bench/crawl_farm.sh [RUNS]        (default 3 runs after 1 warm-up, medians reported)
#
# Needs: nginx (apt), the farm tools in ../shared/bench, and for the peer a venv with scrapy at
# /tmp/leadcrawl-bench/venv (python3 -m venv /tmp/leadcrawl-bench/venv && .../pip install scrapy).
# Results: /tmp/leadcrawl-bench/results/crawl-*.txt; figures go to bench/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SHARED=$(cd ../shared/bench && pwd)
B=/tmp/leadcrawl-bench
OUT=$B/results
PY=$B/venv/bin/python
PYCHECK=$PWD/.venv/bin/python
LC=$PWD/target/release/leadcrawl
mkdir -p "$OUT"
cargo build --release --locked -q

farm() { # hosts pages
  local dir=$B/farm-$1x$2-cd0
  [ -f "$dir/farm.json" ] || python3 "$SHARED/sitefarm/gen.py" --hosts "$1" --pages "$2" --seed 1 --crawl-delay-share 0 --out "$dir" >/dev/null
  echo "$dir"
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
  python3 "$SHARED/measure.py" -n "$RUNS" --warmup 1 -- "$@" | tee -a "$OUT/$name.txt"
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
PY
}

trap '$SHARED/sitefarm/serve.sh stop "$F" >/dev/null 2>&1 || true' EXIT

# (a) fast mode: 200 hosts x 25 pages, no delay
F=$(farm 200 25)
"$SHARED/sitefarm/serve.sh" start "$F"
config "$F" 100000 25 64 > "$B/fast.toml"
run_lc "$B/fast.toml"
measure crawl-fast-leadcrawl -- "$B/lc-run.sh"
"$B/lc-run.sh"; check_lc 5000 | tee -a "$OUT/crawl-fast-leadcrawl.txt"
if [ -x "$PY" ]; then
  measure crawl-fast-scrapy-xpath -- "$PY" "$SHARED/peers/scrapy_crawl.py" --fast --extract xpath --max-pages 25 "$F/companies.csv" "$B/scrapy-fast.jsonl"
fi
"$SHARED/sitefarm/serve.sh" stop "$F"

# (b) polite mode: 300 hosts x 10 pages, 1 request/s/host
F=$(farm 300 10)
"$SHARED/sitefarm/serve.sh" start "$F"
config "$F" 1.0 10 300 > "$B/polite.toml"
run_lc "$B/polite.toml"
measure crawl-polite-leadcrawl -- "$B/lc-run.sh"
"$B/lc-run.sh"; check_lc 3000 | tee -a "$OUT/crawl-polite-leadcrawl.txt"
if [ -x "$PY" ]; then
  measure crawl-polite-scrapy-xpath -- "$PY" "$SHARED/peers/scrapy_crawl.py" --polite --extract xpath --max-pages 10 "$F/companies.csv" "$B/scrapy-polite.jsonl"
fi
"$SHARED/sitefarm/serve.sh" stop "$F"
echo "results in $OUT"
