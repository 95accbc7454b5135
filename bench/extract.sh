#!/usr/bin/env bash
# Extraction quality and speed on the shared extraction benchmarks, leadcrawl side by side with
# rs-trafilatura 0.2.2 (the best published Rust extractor) in the same run.
#
#   bench/extract.sh [ROUNDS]        (default 3 timing rounds; the best round is reported)
#
# Quality: `leadcrawl extract-html` (the command users debug extraction with) on each set, scored
# by bench/extract_quality.py (the Zyte shingle metric; with/without snippets).
# Speed: bench/extract-peer, one process, one thread, pages decompressed into memory first, both
# extractors over the same pages; its rs-trafilatura output is scored too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
DATA="${LEADCRAWL_EXTRACTION_DATA:-../shared/data/extraction}"
OUT="${TMPDIR:-/tmp}/leadcrawl-extract-bench"
mkdir -p "$OUT"
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python

cargo build --release --quiet
CARGO_TARGET_DIR="${PEER_TARGET:-$OUT/peer-target}" cargo build --release --quiet \
    --manifest-path bench/extract-peer/Cargo.toml
PEER="${PEER_TARGET:-$OUT/peer-target}/release/extract-peer"

run_set() { # name scoring-set html-dir
    local name=$1 set=$2 dir=$3
    echo "== $name ($dir)"
    ./target/release/leadcrawl -q extract-html --input "$dir" --output "$OUT/$name-leadcrawl.json"
    taskset -c 0 "$PEER" "$dir" --rounds "$ROUNDS" --out-peer "$OUT/$name-rs-trafilatura.json" \
        | tee "$OUT/$name-speed.jsonl"
    printf 'leadcrawl       '; $PY bench/extract_quality.py "$set" "$OUT/$name-leadcrawl.json" --data "$DATA"
    printf 'rs-trafilatura  '; $PY bench/extract_quality.py "$set" "$OUT/$name-rs-trafilatura.json" --data "$DATA"
}

run_set article article "$DATA/article-benchmark-dev/html"
run_set wcxb wcxb "$DATA/wcxb-dev/dev/html"
run_set trafilatura trafilatura "$DATA/trafilatura-eval/html"
echo "outputs in $OUT"
