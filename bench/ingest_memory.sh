#!/usr/bin/env bash
# Ingest memory benchmark: peak RSS of `leadcrawl run --stages ingest` and of `leadcrawl validate`
# on a generated lead list, whole process, under /usr/bin/time -v.
#
#   bench/ingest_memory.sh [ROWS]     (default 1000000 rows, about 150 MB of CSV)
#   bench/ingest_memory.sh --smoke    (2000 rows, a few seconds: checks the script still works)
#
# The list is a CRM export as the issue's probe made it: name, website, country, status,
# description and notes, 1 row in 50 a duplicate of an earlier one and 1 in 200 with an invalid
# website, deterministic (seeded). Every data row must end in exactly one of `leads` and `rejects`
# (checked from the stage's counters). BASE=/path/to/older/leadcrawl measures that binary on the
# same file too, side by side.
# Results: /tmp/leadcrawl-bench/results/ingest-memory-ROWS.txt; figures go to bench/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=1000000
SMOKE=0
if [ "${1:-}" = "--smoke" ]; then
  SMOKE=1
  ROWS=2000
elif [ -n "${1:-}" ]; then
  ROWS=$1
fi
B=/tmp/leadcrawl-bench
OUT=$B/results
W=$B/ingest-memory-$ROWS
mkdir -p "$OUT" "$W"
if [ ! -x /usr/bin/time ]; then
  # A Python wrapper's getrusage would count Python's own ~13 MiB (exec records the parent's
  # resident set): the small C program gives the leadcrawl process's own peak.
  echo "bench/ingest_memory.sh needs GNU time (/usr/bin/time): apt-get install time (./dev.sh test installs it)" >&2
  exit 1
fi
cargo build --release --locked -q
LC=$PWD/target/release/leadcrawl

if [ ! -s "$W/leads.csv" ]; then
  python3 - "$ROWS" "$W/leads.csv" <<'EOF'
import random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
words = "acme industrie global services solutions bâtiment logistique conseil ingénierie " \
        "software data cloud santé énergie transport bois métal textile agro".split()
countries = ["France", "FR", "Belgique", "United Kingdom", "USA", "Deutschland", "Spain"]
statuses = ["Gagné", "Perdu", "Closed Won", "Closed Lost", "En cours", "Prospect"]
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("Company,Website,Country,Status,Description,Notes\r\n")
    for i in range(rows):
        if i > 100 and i % 50 == 0:
            j = rng.randrange(i)
            r = random.Random(j)
        else:
            j, r = i, random.Random(i)
        name = " ".join(r.choice(words).capitalize() for _ in range(2)) + f" {j}"
        site = f"www.{name.lower().replace(' ', '-').replace('â', 'a').replace('é', 'e')}.example.com"
        if i % 200 == 7:
            site = "not a website"
        desc = " ".join(r.choice(words) for _ in range(12))
        notes = f"\"Rencontré au salon, {r.randrange(1, 28)}/{r.randrange(1, 13)}\"" if r.random() < 0.3 else ""
        f.write(f"{name},{site},{r.choice(countries)},{r.choice(statuses)},{desc},{notes}\r\n")
EOF
fi
printf '[pipeline]\noutput_dir = "out"\n[ingest]\ninput = "leads.csv"\n' >"$W/pipeline.toml"
SIZE=$(du -m "$W/leads.csv" | cut -f1)

# Runs one command under /usr/bin/time -v; prints "wall_s peak_MiB".
measure() {
  local log=$W/time.log
  /usr/bin/time -v "$@" >"$W/cmd.log" 2>"$log" || { cat "$W/cmd.log" "$log" >&2; exit 1; }
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  echo "$wall $rss"
}

report=$OUT/ingest-memory-$ROWS.txt
{
  echo "ingest memory, $ROWS rows, $SIZE MB of CSV, $(date -u +%FT%TZ), $(nproc) cores"
  for bin in "$LC" ${BASE:+"$BASE"}; do
    rm -rf "$W/out"
    read -r vwall vrss < <(cd "$W" && measure "$bin" validate --config pipeline.toml)
    read -r iwall irss < <(cd "$W" && measure "$bin" run --config pipeline.toml --stages ingest)
    counts=$(cd "$W" && "$bin" status --config pipeline.toml --json | python3 -c '
import json, sys
s = next(x for x in json.load(sys.stdin)["stages"] if x["stage"] == "ingest")
c = s["counters"]
print(c["rows"], c["leads"], c["rejects"], c.get("blank_rows", 0))')
    read -r rows leads rejects blank <<<"$counts"
    echo "$bin"
    echo "  validate: ${vwall}s, peak ${vrss} MiB"
    echo "  ingest:   ${iwall}s, peak ${irss} MiB; rows $rows = leads $leads + rejects $rejects"
    if [ "$rows" != "$ROWS" ] || [ $((leads + rejects)) != "$ROWS" ]; then
      echo "FAIL: $ROWS rows written, $rows read, $leads leads + $rejects rejects" >&2
      exit 1
    fi
  done
} | tee "$report"
if [ "$SMOKE" = 1 ]; then
  echo "smoke ok"
fi
