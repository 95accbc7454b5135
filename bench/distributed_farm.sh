#!/usr/bin/env bash
# Scale-out benchmark: 1, 2 and 4 `leadcrawl worker` processes sharing one PostgreSQL frontier,
# crawling the shared site farm in polite mode (1 request/s/host), each worker limited to
# CONC sites at a time so that the workers, not the farm, set the pace.
#
#   bench/distributed_farm.sh [CONC] [HOSTS]      (defaults 40 sites per worker, 300 hosts x 10 pages)
#   bench/distributed_farm.sh --smoke             (CI: 1 and 2 workers on 6 sites x 8 pages at 20
#                                                  requests/s/host, served by bench/farm_serve.py
#                                                  instead of nginx: seconds)
#
# Only the stages measured run: ingest, then crawl by the workers. Reports per worker count: wall
# time, pages/s against the politeness bound and against the workers' own bound (CONC sites x 12
# requests / 11 s each), the database's cost: transactions and round trips per page, and the
# PostgreSQL server's CPU seconds per 1,000 pages (postmaster and all its backends, from /proc).
# Fails unless the workers fetched every page of the farm. Needs nginx, PostgreSQL (apt), the
# farm tools in ../shared/bench. The smoke uses the server of $LEADCRAWL_TEST_PG when set (no CPU
# figure then), else a throwaway cluster when PostgreSQL is installed, else says it skipped.
# Results: /tmp/leadcrawl-bench/results/distributed-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
if [ "$SMOKE" = 1 ]; then
  CONC=4 HOSTS=6 PAGES=8 RPS=20.0 WORKERS="1 2"
else
  CONC=${1:-40} HOSTS=${2:-300} PAGES=10 RPS=1.0 WORKERS="1 2 4"
fi
SHARED=$(cd ../shared/bench && pwd)
B=/tmp/leadcrawl-bench
# A smoke run works in a folder of its own: a full run may be using the shared one.
if [ "$SMOKE" = 1 ]; then
  B=$(mktemp -d "${TMPDIR:-/tmp}/leadcrawl-dist-smoke.XXXXXX")
  chmod 755 "$B"  # the throwaway cluster's `postgres` user enters it
fi
OUT=$B/results
LC=$PWD/target/release/leadcrawl
mkdir -p "$OUT"

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ "$SMOKE" = 1 ] && [ -z "${LEADCRAWL_TEST_PG:-}" ] && { [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; }; then
  echo "SKIP distributed_farm.sh --smoke: no PostgreSQL (set LEADCRAWL_TEST_PG to a server's URL, or install postgresql)"
  rm -rf "$B"
  exit 0
fi
cargo build --release --locked -q

F=$B/farm-${HOSTS}x$PAGES-cd0
[ -f "$F/farm.json" ] || python3 "$SHARED/sitefarm/gen.py" --hosts "$HOSTS" --pages "$PAGES" --seed 1 --crawl-delay-share 0 --out "$F" >/dev/null

PGD= PMPID= SERVER=
AS=(); [ "$(id -u)" -eq 0 ] && AS=(runuser -u postgres --)
cleanup() {
  [ -z "$PGD" ] || "${AS[@]}" "$BIN/pg_ctl" -D "$PGD/data" -m fast stop >/dev/null 2>&1 || true
  if [ "$SMOKE" = 1 ]; then
    [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
    rm -rf "$B"
  else
    "$SHARED/sitefarm/serve.sh" stop "$F" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [ "$SMOKE" = 1 ] && [ -n "${LEADCRAWL_TEST_PG:-}" ]; then
  # An existing server: its URL without the database name (no query string expected).
  PGURL=${LEADCRAWL_TEST_PG%/*}
else
  # A throwaway PostgreSQL cluster (the server refuses to run as root: run it as `postgres`).
  PGD=$B/pg
  rm -rf "$PGD"; mkdir -p "$PGD"; [ "$(id -u)" -eq 0 ] && chown postgres: "$PGD"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${AS[@]}" "$BIN/initdb" -D "$PGD/data" -U leadcrawl --auth=trust -E UTF8 >/dev/null
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w \
    -o "-p $PORT -k $PGD -c listen_addresses=127.0.0.1" start >/dev/null
  PMPID=$(head -1 "$PGD/data/postmaster.pid")
  PGURL=postgres://leadcrawl@127.0.0.1:$PORT
fi

if [ "$SMOKE" = 1 ]; then
  python3 bench/farm_serve.py "$F" "$B/port" & SERVER=$!
  until [ -s "$B/port" ]; do kill -0 "$SERVER" || exit 1; sleep 0.1; done
else
  "$SHARED/sitefarm/serve.sh" start "$F" >/dev/null
fi

pg_cpu() { # postmaster + every backend it ever had, in seconds (0 for a server not started here)
  if [ -n "$PMPID" ]; then
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$PMPID/stat"
  else
    echo 0
  fi
}
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -A -t "$PGURL/$1" -c "$2"; }

for W in $WORKERS; do
  # A smoke on a shared server gets database names of its own.
  DB=bench_w$W; [ "$SMOKE" = 1 ] && DB=bench_smoke_$$_w$W
  psql_q postgres "DROP DATABASE IF EXISTS $DB" >/dev/null
  psql_q postgres "CREATE DATABASE $DB" >/dev/null
  RUN=$B/dist-w$W
  rm -rf "$RUN"; mkdir -p "$RUN"
  cat > "$RUN/pipeline.toml" <<TOML
[pipeline]
output_dir = "$RUN/out"
[state]
url = "$PGURL/$DB"
[ingest]
input = "$F/companies.csv"
[ingest.columns]
id = "company_id"
[crawl]
contact_url = "https://example.org/leadcrawl-bench"
allow_private_networks = true
requests_per_second = $RPS
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
  [ "$SMOKE" = 1 ] && psql_q postgres "DROP DATABASE $DB" >/dev/null
  python3 - "$W" "$CONC" "$HOSTS" "$t0" "$t1" "$pages" "$queries" "$x0" "$x1" "$c0" "$c1" "$PAGES" "$RPS" <<'PY' | tee "$OUT/distributed-w$W.txt"
import sys
w, conc, hosts = map(int, sys.argv[1:4])
t0, t1 = map(float, sys.argv[4:6])
pages, queries, x0, x1 = map(int, sys.argv[6:10])
c0, c1 = map(float, sys.argv[10:12])
per_site, rps = int(sys.argv[12]), float(sys.argv[13])
if pages != hosts * per_site:
    sys.exit(f"FAIL: workers {w}: {pages} pages fetched, the farm has {hosts * per_site}")
wall = t1 - t0
# Each host takes per_site + 2 requests (robots, sitemap, pages), per_site + 1 intervals apart.
bound_all = hosts * per_site / ((per_site + 1) / rps)
bound_workers = min(hosts, w * conc) * per_site / ((per_site + 1) / rps)
rate = pages / wall
cpu = f"{1000 * (c1 - c0) / pages:.2f} CPU s per 1,000 pages ({c1 - c0:.2f} s)" if c1 else "server CPU not measured (not started here)"
print(f"workers {w}: {pages} pages in {wall:.1f} s = {rate:.1f} pages/s; "
      f"politeness bound {bound_all:.1f} ({100 * rate / bound_all:.0f} %), "
      f"bound of {w} x {conc} sites in flight {bound_workers:.1f} ({100 * rate / bound_workers:.0f} %); "
      f"database: {(x1 - x0) / pages:.3f} transactions/page, {queries / pages:.3f} round trips/page, {cpu}")
PY
done
if [ "$SMOKE" = 1 ]; then echo "smoke ok"; else echo "results in $OUT"; fi
