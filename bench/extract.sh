#!/usr/bin/env bash
# Extraction quality and speed on the shared extraction benchmarks, leadcrawl side by side with
# rs-trafilatura 0.2.2 (the best published Rust extractor) and, when it is installed, Python
# trafilatura, on a development part and a locked part of each set.
#
#   bench/extract.sh [ROUNDS]   (default 3 timing rounds; the best round is reported)
#   bench/extract.sh --smoke    (CI: leadcrawl alone on a few pages of each set, seconds)
#
# Parts: a page is locked when the first byte of sha256(page id) is below 0x80 (see
# bench/extract_quality.py). Rules are developed against the dev part; a rule is kept only when
# the locked part improves or holds. The "gap" column is locked minus dev.
# Quality: `leadcrawl extract-html` (the command users debug extraction with) on each set, scored
# by bench/extract_quality.py (the Zyte shingle metric on article and WCXB; trafilatura's snippet
# metric on trafilatura-eval).
# Speed: bench/extract-peer, one process, one thread, pages decompressed into memory first, both
# extractors over the same pages; its rs-trafilatura output is scored too. Python trafilatura
# (bench/extract_trafilatura.py) is timed on its own; its output is cached in $OUT (delete the
# file to re-run it).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${LEADCRAWL_EXTRACTION_DATA:-../shared/data/extraction}"
OUT="${TMPDIR:-/tmp}/leadcrawl-extract-bench"
mkdir -p "$OUT"
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
[ -n "${LEADCRAWL_PYTHON:-}" ] && PY="$LEADCRAWL_PYTHON"

SETS=("article:$DATA/article-benchmark-dev/html" "wcxb:$DATA/wcxb-dev/dev/html"
    "trafilatura:$DATA/trafilatura-eval/html")

if [ "${1:-}" = "--smoke" ]; then
    # Five pages of each set, the leadcrawl binary only: proves the command, the decoding and
    # the scoring run end to end, and that no page panics (extract-html exits non-zero).
    cargo build --release --quiet
    for entry in "${SETS[@]}"; do
        name=${entry%%:*} dir=${entry#*:}
        smoke="$OUT/smoke-$name"
        rm -rf "$smoke" && mkdir -p "$smoke"
        mapfile -t files < <(find "$dir" -maxdepth 1 -name '*.html*' | sort)
        cp "${files[@]:0:5}" "$smoke/"
        start=$(date +%s%N)
        ./target/release/leadcrawl -q extract-html --input "$smoke" --output "$OUT/smoke-$name.json"
        ms=$((($(date +%s%N) - start) / 1000000))
        printf '%-12s %4d ms  ' "$name" "$ms"
        "$PY" bench/extract_quality.py "$name" "$OUT/smoke-$name.json" --data "$DATA" --present
    done
    exit 0
fi

ROUNDS="${1:-3}"
cargo build --release --quiet
CARGO_TARGET_DIR="${PEER_TARGET:-$OUT/peer-target}" cargo build --release --quiet \
    --manifest-path bench/extract-peer/Cargo.toml
PEER="${PEER_TARGET:-$OUT/peer-target}/release/extract-peer"
TRAFILATURA=0
"$PY" -c 'import trafilatura' 2>/dev/null && TRAFILATURA=1

for entry in "${SETS[@]}"; do
    name=${entry%%:*} dir=${entry#*:}
    echo "== $name ($dir)"
    ./target/release/leadcrawl -q extract-html --input "$dir" --output "$OUT/$name-leadcrawl.json"
    taskset -c 0 "$PEER" "$dir" --rounds "$ROUNDS" --out-peer "$OUT/$name-rs-trafilatura.json" |
        tee "$OUT/$name-speed.jsonl"
    runs=("leadcrawl=$OUT/$name-leadcrawl.json" "rs-trafilatura=$OUT/$name-rs-trafilatura.json")
    if [ "$TRAFILATURA" = 1 ]; then
        if [ ! -s "$OUT/$name-trafilatura.json" ]; then
            taskset -c 0 "$PY" bench/extract_trafilatura.py "$dir" "$OUT/$name-trafilatura.json" \
                >"$OUT/$name-trafilatura-speed.json"
        fi
        cat "$OUT/$name-trafilatura-speed.json"
        runs+=("trafilatura=$OUT/$name-trafilatura.json")
    fi
    "$PY" bench/extract_quality.py "$name" "${runs[@]}" --table --data "$DATA"
done
echo "outputs in $OUT"
