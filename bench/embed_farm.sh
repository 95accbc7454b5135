#!/usr/bin/env bash
# Embedding benchmark: the embed stage with the int8 model, with the fp32 model, and plain
# Python onnxruntime fp32 with naive batching (input order, batches of 32), on the same chunks of
# site-farm text, side by side in one run (rounds interleave the three), same machine.
#
#   bench/embed_farm.sh [RUNS] [HOSTSxPAGES ...]   (default 1 round, 80x25)
#   bench/embed_farm.sh --smoke                    (seconds; exits non-zero if anything breaks)
#
# Per farm size: the farm is crawled and extracted once (nginx, ../shared/bench/sitefarm), then
# each round times, whole process under /usr/bin/time -v (../shared/bench/measure.py):
# (a) `leadcrawl run --stages embed --force embed --set embed.precision=int8`, empty vector cache
#     (process start, model load, chunking, inference, Parquet);
# (b) the same with `embed.precision=fp32`;
# (c) bench/embed_naive.py (fp32, model.onnx) on the texts of the chunks table, in lead order.
# Then, inference alone (embed/examples/embed_file.rs), THREADS x SESSIONS x BATCH: int8 and fp32
# as the stage runs them (2 sessions of 1 intra-op thread, batches of 16: "a session per core"),
# as it ran before (1 session of 2 threads, batches of 32), and int8 with 1 session of 2 threads
# at 16 and 1 thread alone; and the vectors: int8 and fp32 chunks against the naive fp32 ones.
# leadcrawl: embed.threads = 2 (the 2 cores), sessions and batch_size at their defaults (2
# sessions of 1 thread, 16); Python: one session, intra_op_num_threads 2, inter-op 1, batches
# of 32 (its own loop). Both use the model set up by ./dev.sh (its model.int8.onnx must have
# passed quantize_int8.py's check).
#
# --smoke: no farm, no nginx: 16 leads whose descriptions are int8 check texts, ingest +
# embed (fp32, then int8) + the naive script on the same chunks; fails unless every step exits 0,
# the chunk counts agree, fp32 matches naive (cosine >= 0.9999) and int8 keeps cosine >= 0.97.
#
# Needs: nginx (apt; not for --smoke), ./dev.sh setup done (.venv with onnxruntime, tokenizers,
# pyarrow, numpy). Results: $BENCH_DIR/results/embed-*.txt (BENCH_DIR defaults to
# /tmp/leadcrawl-bench); figures go to bench/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
if [ "${1:-}" = --smoke ]; then SMOKE=1; shift; fi
RUNS=${1:-1}
shift || true
SIZES=("${@:-80x25}")
SHARED=$(cd ../shared/bench 2>/dev/null && pwd || true)
B=${BENCH_DIR:-/tmp/leadcrawl-bench}
OUT=$B/results
PY=${LEADCRAWL_PYTHON:-$PWD/.venv/bin/python}
LC=$PWD/target/release/leadcrawl
# The model folder leadcrawl finds (same rules as embed::runtime::discover).
MODEL=$("$PY" - <<'PY'
import json, os
f = os.environ.get("LEADCRAWL_RUNTIME_FILE") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "leadcrawl", "runtime.json")
print(os.environ.get("LEADCRAWL_MODEL_DIR") or json.load(open(f))["model_dir"])
PY
)
"$PY" - "$MODEL" <<'PY' || { echo "embed_farm: no accepted int8 variant in $MODEL: run $PY embed/export/quantize_int8.py $MODEL" >&2; exit 1; }
import json, sys
assert json.load(open(sys.argv[1] + "/quantize.json"))["accepted"]
PY
mkdir -p "$OUT"
cargo build --release --locked -q
cargo build --release --locked -q -p embed --example embed_file

# A wrapper that runs the embed stage alone with one precision, from an empty vector cache.
make_lc_embed() {  # DIR
  cat > "$1/lc-embed.sh" <<SH
#!/bin/sh
rm -f $1/out/embed-cache.sqlite*
exec $LC --quiet run --config $1/pipeline.toml --stages embed --force embed --set embed.precision=\$1
SH
  chmod +x "$1/lc-embed.sh"
}

# TEXTS.jsonl from the chunks table (the same chunks, in lead order), with token statistics.
chunk_texts() {  # CHUNKS_DIR TEXTS.jsonl
  "$PY" - "$1" "$2" <<'PY'
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1], columns=["text", "tokens", "text_hash"])
texts = t.column("text").to_pylist()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for x in texts:
        f.write(json.dumps(x) + "\n")
tok = sorted(t.column("tokens").to_pylist())
print(f"chunks {len(texts)}, distinct texts {len(set(t.column('text_hash').to_pylist()))}, "
      f"tokens min {tok[0]} median {tok[len(tok)//2]} p90 {tok[len(tok)*9//10]} max {tok[-1]}")
PY
}

# Cosine of the chunks table's vectors to the naive ones, row by row; fails below MIN.
same_vectors() {  # CHUNKS_DIR NAIVE.npy LABEL MIN
  "$PY" - "$@" <<'PY'
import sys, numpy as np, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1], columns=["vector"])
meta = pq.read_metadata(next(__import__("pathlib").Path(sys.argv[1]).glob("*.parquet"))).metadata
ours = np.array(t.column("vector").to_pylist(), dtype=np.float32)
naive = np.load(sys.argv[2])
assert ours.shape == naive.shape, (ours.shape, naive.shape)
cos = (ours * naive).sum(1)
print(f"{sys.argv[3]} ({meta[b'leadcrawl.precision'].decode()}) vs naive fp32: min cosine {cos.min():.6f}, "
      f"mean {cos.mean():.6f} over {len(cos)} chunks")
assert cos.min() >= float(sys.argv[4]), f"min cosine {cos.min()} < {sys.argv[4]}"
PY
}

if [ "$SMOKE" = 1 ]; then
  W=$(mktemp -d /tmp/leadcrawl-embed-smoke.XXXXXX)
  trap 'rm -rf "$W"' EXIT
  "$PY" - embed/export/check_texts.jsonl "$W/leads.csv" <<'PY'
import csv, json, sys
texts = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
texts = [" ".join(t.split()) for t in texts if '"' not in t][:16]
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["name", "description", "status"])
    for i, t in enumerate(texts):
        w.writerow([f"Company {i}", t, ["won", "lost", ""][i % 3]])
PY
  cat > "$W/pipeline.toml" <<TOML
[pipeline]
output_dir = "$W/out"
[ingest]
input = "$W/leads.csv"
[crawl]
contact_url = "https://example.org/leadcrawl-bench"
[embed]
threads = 2
TOML
  make_lc_embed "$W"
  # No lead has a website: crawl and extract have nothing to do; embed reads the descriptions.
  "$LC" --quiet run --config "$W/pipeline.toml" --stages ingest,crawl,extract
  "$W/lc-embed.sh" fp32
  chunk_texts "$W/out/chunks" "$W/texts.jsonl"
  "$PY" bench/embed_naive.py "$MODEL" "$W/texts.jsonl" --save "$W/naive.npy"
  same_vectors "$W/out/chunks" "$W/naive.npy" "leadcrawl fp32" 0.9999
  s=$(date +%s%N)
  "$W/lc-embed.sh" int8
  echo "leadcrawl embed int8: $(( ($(date +%s%N) - s) / 1000000 )) ms (fp32 and naive above; timings are not checked)"
  same_vectors "$W/out/chunks" "$W/naive.npy" "leadcrawl int8" 0.97
  ./target/release/examples/embed_file "$W/texts.jsonl" 32 1 int8 2 >/dev/null
  echo "embed_farm --smoke: ok"
  exit 0
fi

[ -n "$SHARED" ] || { echo "embed_farm: no ../shared/bench (the site farm)" >&2; exit 1; }
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
TOML
  if [ ! -f "$W/prepared" ]; then
    "$SHARED/sitefarm/serve.sh" start "$F" >/dev/null
    "$LC" --quiet run --config "$W/pipeline.toml" --stages ingest,crawl,extract
    "$SHARED/sitefarm/serve.sh" stop "$F" >/dev/null
    touch "$W/prepared"
  fi
  make_lc_embed "$W"
  [ -f "$W/out/chunks/part-00000.parquet" ] || "$W/lc-embed.sh" int8
  R=$OUT/embed-$size.txt
  { echo "== embed-$size $(date -u +%FT%TZ), $RUNS round(s), $(nproc) cores"; chunk_texts "$W/out/chunks" "$W/texts.jsonl"; } | tee "$R"
  # Rounds interleave the three, so that a load change on the shared machine hits them alike.
  "$PY" - "$SHARED" "$RUNS" "$W" "$PY" "$MODEL" <<'PY' | tee -a "$R"
import statistics, sys
sys.path.insert(0, sys.argv[1])
from measure import once
runs, w, py, model = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n = sum(1 for _ in open(f"{w}/texts.jsonl"))
cmds = {
    "leadcrawl embed stage, int8": [f"{w}/lc-embed.sh", "int8"],
    "leadcrawl embed stage, fp32": [f"{w}/lc-embed.sh", "fp32"],
    "Python onnxruntime fp32, naive batching": [py, "bench/embed_naive.py", model, f"{w}/texts.jsonl"],
}
res = {k: [] for k in cmds}
for r in range(runs):
    for k, c in cmds.items():
        rc, wall, cpu, rss = once(c)
        assert rc == 0, f"{k}: exit {rc}"
        res[k].append((wall, cpu, rss))
        print(f"round {r + 1}: {k}: {wall:.1f} s, {n / wall:.1f} chunks/s, cpu {cpu:.1f} s, peak {rss:.0f} MiB", flush=True)
naive = statistics.median(x[0] for x in res["Python onnxruntime fp32, naive batching"])
print(f"\n{'(medians, whole process)':42}{'wall s':>8}{'chunks/s':>10}{'cpu s':>8}{'peak MiB':>10}{'vs naive':>10}")
for k, xs in res.items():
    wall = statistics.median(x[0] for x in xs)
    cpu = statistics.median(x[1] for x in xs)
    rss = statistics.median(x[2] for x in xs)
    print(f"{k:42}{wall:8.1f}{n / wall:10.1f}{cpu:8.1f}{rss:10.0f}{naive / wall:9.2f}x")
PY
  echo "== inference alone (embed_file, one run each, whole process under GNU time)" | tee -a "$R"
  # precision threads sessions batch
  for layout in "int8 1 2 16" "int8 2 1 32" "int8 2 1 16" "int8 1 1 16" "fp32 1 2 16" "fp32 2 1 32"; do
    read -r p threads sessions batch <<<"$layout"
    /usr/bin/time -f "  peak %M KiB, cpu %U s user" ./target/release/examples/embed_file "$W/texts.jsonl" "$batch" "$threads" "$p" "$sessions" 2>&1 | sed "s/^texts/batch $batch texts/" | tee -a "$R"
  done
  "$PY" bench/embed_naive.py "$MODEL" "$W/texts.jsonl" --save "$W/naive.npy" | sed 's/^/naive fp32 (inference only) /' | tee -a "$R"
  echo "== vectors" | tee -a "$R"
  "$W/lc-embed.sh" fp32
  same_vectors "$W/out/chunks" "$W/naive.npy" "leadcrawl fp32" 0.9999 | tee -a "$R"
  "$W/lc-embed.sh" int8
  same_vectors "$W/out/chunks" "$W/naive.npy" "leadcrawl int8" 0.97 | tee -a "$R"
done
echo "results in $OUT"
