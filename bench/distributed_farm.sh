#!/usr/bin/env bash
# Scale-out benchmark: 1, 2 and 4 `leadcrawl worker` processes sharing one PostgreSQL frontier,
# crawling the shared site farm in polite mode (1 request/s/host), each worker limited to
# CONC sites at a time so that the workers, not the farm, set the pace.
#
#   bench/distributed_farm.sh [CONC] [HOSTS]      (defaults 40 sites per worker, 300 hosts x 10 pages)
#
# Reports per worker count: wall time, pages/s against the politeness bound and against the
# workers' own bound (CONC sites x 12 requests / 11 s each), the database's cost: transactions
# and round trips per page, and the PostgreSQL server's CPU seconds per 1,000 pages (postmaster
# and all its backends, from /proc). Needs nginx, PostgreSQL (apt), the farm tools in
# ../shared/bench. Results: /tmp/leadcrawl-bench/results/distributed-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
CONC=${1:-40}
HOSTS=${2:-300}
PAGES=10
SHARED=$(cd ../shared/bench && pwd)
B=/tmp/leadcrawl-bench
OUT=$B/results
LC=$PWD/target/release/leadcrawl
mkdir -p "$OUT"
cargo build --release --locked -q

F=$B/farm-${HOSTS}x$PAGES-cd0
[ -f "$F/farm.json" ] || python3 "$SHARED/sitefarm/gen.py" --hosts "$HOSTS" --pages "$PAGES" --seed 1 --crawl-delay-share 0 --out "$F" >/dev/null

# A throwaway PostgreSQL cluster (the server refuses to run as root: run it as `postgres`).
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGD=$B/pg
AS=(); [ "$(id -u)" -eq 0 ] && AS=(runuser -u postgres --)
rm -rf "$PGD"; mkdir -p "$PGD"; [ "$(id -u)" -eq 0 ] && chown postgres: "$PGD"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${AS[@]}" "$BIN/initdb" -D "$PGD/data" -U leadcrawl --auth=trust -E UTF8 >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w \
  -o "-p $PORT -k $PGD -c listen_addresses=127.0.0.1" start >/dev/null
cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGD/data" -m fast stop >/dev/null 2>&1 || true
  "$SHARED/sitefarm/serve.sh" stop "$F" >/dev/null 2>&1 || true
}
trap cleanup EXIT
PMPID=$(head -1 "$PGD/data/postmaster.pid")
"$SHARED/sitefarm/serve.sh" start "$F" >/dev/null

pg_cpu() { # postmaster + every backend it ever had, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$PMPID/stat"
}
psql_q() { psql -X -A -t -h 127.0.0.1 -p "$PORT" -U leadcrawl "$1" -c "$2"; }

for W in 1 2 4; do
  DB=bench_w$W
  psql_q postgres "DROP DATABASE IF EXISTS $DB" >/dev/null
  psql_q postgres "CREATE DATABASE $DB" >/dev/null
  RUN=$B/dist-w$W
  rm -rf "$RUN"; mkdir -p "$RUN"
  cat > "$RUN/pipeline.toml" <<TOML
[pipeline]
output_dir = "$RUN/out"
[state]
url = "postgres://leadcrawl@127.0.0.1:$PORT/$DB"
[ingest]
input = "$F/companies.csv"
[ingest.columns]
id = "company_id"
[crawl]
contact_url = "https://example.org/leadcrawl-bench"
allow_private_networks = true
requests_per_second = 1.0
max_pages_per_site = $PAGES
concurrency = $CONC
max_depth = 3
TOML
  "$LC" -q run --config "$RUN/pipeline.toml" --stages ingest
  x0=$(psql_q "$DB" "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'")
  c0=$(pg_cpu)
  t0=$(date +%s.%N)
  "$LC" -q run --config "$RUN/pipeline.toml" --stages crawl --no-local-worker &
  coord=$!
  pids=()
  for i in $(seq 1 "$W"); do
    "$LC" -q worker --config "$RUN/pipeline.toml" --id "w$i" & pids+=($!)
  done
  wait "$coord"
  t1=$(date +%s.%N)
  for p in "${pids[@]}"; do wait "$p"; done
  c1=$(pg_cpu)
  x1=$(psql_q "$DB" "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'")
  read -r pages queries < <(psql_q "$DB" "SELECT sum(pages), sum(queries) FROM workers" | tr '|' ' ')
  python3 - "$W" "$CONC" "$HOSTS" "$t0" "$t1" "$pages" "$queries" "$x0" "$x1" "$c0" "$c1" <<'PY' | tee "$OUT/distributed-w$W.txt"
import sys
w, conc, hosts = map(int, sys.argv[1:4])
t0, t1 = map(float, sys.argv[4:6])
pages, queries, x0, x1 = map(int, sys.argv[6:10])
c0, c1 = map(float, sys.argv[10:12])
wall = t1 - t0
# 12 requests per host (robots, sitemap, 10 pages) need 11 s at 1 request/s.
bound_all = hosts * 10 / 11.0
bound_workers = min(hosts, w * conc) * 10 / 11.0
rate = pages / wall
print(f"workers {w}: {pages} pages in {wall:.1f} s = {rate:.1f} pages/s; "
      f"politeness bound {bound_all:.1f} ({100 * rate / bound_all:.0f} %), "
      f"bound of {w} x {conc} sites in flight {bound_workers:.1f} ({100 * rate / bound_workers:.0f} %); "
      f"database: {(x1 - x0) / pages:.3f} transactions/page, {queries / pages:.3f} round trips/page, "
      f"{1000 * (c1 - c0) / pages:.2f} CPU s per 1,000 pages ({c1 - c0:.2f} s)")
PY
done
echo "results in $OUT"
