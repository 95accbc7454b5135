#!/usr/bin/env bash
# Embedding benchmark: the embed stage against plain Python onnxruntime with naive batching
# (input order, batches of 32), on the same chunks of site-farm text, same session, same machine.
#
#   bench/embed_farm.sh [RUNS] [HOSTSxPAGES ...]   (default 1 run, no warm-up (WARMUP=n for more); 80x25)
#
# Per farm size: the farm is crawled and extracted once (nginx, ../shared/bench/sitefarm), then
# (a) `leadcrawl run --stages embed --force embed` with an empty vector cache, timed whole
#     (process start, model load, chunking, inference, Parquet) under /usr/bin/time -v;
# (b) bench/embed_naive.py on the texts of the chunks table (the same chunks, in lead order),
#     timed whole the same way; it also prints its own inference-only seconds;
# (c) both embedders alone on those texts (inference only: embed/examples/embed_file.rs and the
#     Python script's own timer), and a check that both give the same vectors (min cosine).
# Both sides use 2 ONNX Runtime threads and the model set up by ./dev.sh.
# Needs: nginx (apt), ./dev.sh setup done (.venv with onnxruntime, tokenizers, pyarrow, numpy).
# Results: /tmp/leadcrawl-bench/results/embed-*.txt; figures go to bench/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1}
WARMUP=${WARMUP:-0}
shift || true
SIZES=("${@:-80x25}")
SHARED=$(cd ../shared/bench && pwd)
B=/tmp/leadcrawl-bench
OUT=$B/results
PY=$PWD/.venv/bin/python
LC=$PWD/target/release/leadcrawl
MODEL=$("$PY" -c 'import json,os;print(json.load(open(os.path.expanduser("~/.local/share/leadcrawl/runtime.json")))["model_dir"])')
mkdir -p "$OUT"
cargo build --release --locked -q
cargo build --release --locked -q -p embed --example embed_file

F=
trap '[ -n "$F" ] && $SHARED/sitefarm/serve.sh stop "$F" >/dev/null 2>&1 || true' EXIT

for size in "${SIZES[@]}"; do
  hosts=${size%x*}; pages=${size#*x}
  F=$B/farm-${hosts}x${pages}-cd0
  [ -f "$F/farm.json" ] || python3 "$SHARED/sitefarm/gen.py" --hosts "$hosts" --pages "$pages" --seed 1 --crawl-delay-share 0 --out "$F" >/dev/null
  W=$B/embed-$size
  mkdir -p "$W"
  cat > "$W/pipeline.toml" <<TOML
[pipeline]
output_dir = "$W/out"
[ingest]
input = "$F/companies.csv"
[ingest.columns]
id = "company_id"
[crawl]
contact_url = "https://example.org/leadcrawl-bench"
allow_private_networks = true
requests_per_second = 100000
max_pages_per_site = $pages
concurrency = 64
max_depth = 3
[embed]
threads = 2
batch_size = 32
TOML
  if [ ! -f "$W/prepared" ]; then
    "$SHARED/sitefarm/serve.sh" start "$F" >/dev/null
    "$LC" --quiet run --config "$W/pipeline.toml" --stages ingest,crawl,extract
    "$SHARED/sitefarm/serve.sh" stop "$F" >/dev/null
    touch "$W/prepared"
  fi
  cat > "$W/lc-embed.sh" <<SH
#!/bin/sh
rm -f $W/out/embed-cache.sqlite*
exec $LC --quiet run --config $W/pipeline.toml --stages embed --force embed
SH
  chmod +x "$W/lc-embed.sh"
  [ -f "$W/out/chunks/part-00000.parquet" ] || "$W/lc-embed.sh"
  "$PY" - "$W/out/chunks" "$W/texts.jsonl" <<'PY'
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1], columns=["text", "tokens", "text_hash"])
texts = t.column("text").to_pylist()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for x in texts:
        f.write(json.dumps(x) + "\n")
tok = t.column("tokens").to_pylist()
tok.sort()
print(f"chunks {len(texts)}, distinct texts {len(set(t.column('text_hash').to_pylist()))}, "
      f"tokens min {tok[0]} median {tok[len(tok)//2]} p90 {tok[len(tok)*9//10]} max {tok[-1]}")
PY
  {
    echo "== embed-$size: chunks"
    "$PY" -c "import pyarrow.parquet as pq,sys; print(pq.read_table(sys.argv[1]).num_rows)" "$W/out/chunks"
  } > "$OUT/embed-$size.txt"
  echo "== embed-$size leadcrawl (whole process)" | tee -a "$OUT/embed-$size.txt"
  python3 "$SHARED/measure.py" -n "$RUNS" --warmup "$WARMUP" -- "$W/lc-embed.sh" | tee -a "$OUT/embed-$size.txt"
  echo "== embed-$size python naive (whole process)" | tee -a "$OUT/embed-$size.txt"
  python3 "$SHARED/measure.py" -n "$RUNS" --warmup "$WARMUP" -- "$PY" bench/embed_naive.py "$MODEL" "$W/texts.jsonl" | tee -a "$OUT/embed-$size.txt"
  echo "== embed-$size leadcrawl embedder (inference only, one run: embed/examples/embed_file.rs)" | tee -a "$OUT/embed-$size.txt"
  ./target/release/examples/embed_file "$W/texts.jsonl" 32 2 | tee -a "$OUT/embed-$size.txt"
  echo "== embed-$size python naive (inference only, one run)" | tee -a "$OUT/embed-$size.txt"
  "$PY" bench/embed_naive.py "$MODEL" "$W/texts.jsonl" --save "$W/naive.npy" | tee -a "$OUT/embed-$size.txt"
  "$PY" - "$W/out/chunks" "$W/naive.npy" <<'PY' | tee -a "$OUT/embed-$size.txt"
import sys, numpy as np, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1], columns=["vector"])
ours = np.array(t.column("vector").to_pylist(), dtype=np.float32)
naive = np.load(sys.argv[2])
cos = (ours * naive).sum(1)
print(f"same vectors: min cosine {cos.min():.6f} over {len(cos)} chunks")
PY
done
echo "results in $OUT"
