#!/usr/bin/env bash
# Model benchmark: leadcrawl's evaluate + score stages against scikit-learn doing the same
# cross-validation on the same Parquet, side by side in one run (rounds interleave the two).
#
#   bench/evaluate_farm.sh [RUNS] [LEADS]   (default 1 round, 100,000 leads)
#   bench/evaluate_farm.sh --smoke          (2,000 leads, 3 folds, one round; exits non-zero if anything breaks)
#
# The leads: bench/evaluate_gen.py writes a CRM export (an id, a stage, a one-sentence
# description and 50 attribute columns: numbers, categories, booleans, dates, with missing
# values; the label depends on interactions and on a sector only the description carries; about
# 20 % of the leads open). It goes through the real pipeline once: ingest, crawl / extract /
# registry with nothing to do (no website, `registry.registries = []`), embed (the description
# is the lead's only text: one chunk of 10-30 tokens, the installed model, so a 384-dimension
# vector per lead) and features, which writes `features.parquet`: the table the evaluate stage
# reads. Then each round times, whole process under /usr/bin/time -v:
# (a) `leadcrawl run --stages evaluate,score --force evaluate` (read features, leakage guard,
#     9 models x k folds and a shuffled-label control, calibration, bootstrap intervals, the
#     nested model choice, evaluation.json + report.html; score refits the chosen model and
#     writes scores.parquet for the open leads);
# (b) bench/evaluate_sklearn.py: the same steps with scikit-learn and numpy on the same
#     features.parquet (and the leads' descriptions), the same k (evaluate.folds), C and min_df.
# Each side's per-model ROC-AUC is printed beside the other's: they solve the same problem.
#
# --smoke: 2,000 leads in a temporary folder, 3 folds (both sides), one round, same commands
# otherwise (about 40 s on a quiet machine); fails unless both sides
# exit 0, model for model their ROC-AUCs agree within 0.06, the trees and the attributes model
# find the signal (ROC-AUC >= 0.70), the chance control stays near 0.5, and both scored every
# open lead.
#
# Needs: ./dev.sh setup done (.venv with scikit-learn, pyarrow; the embedding model), GNU time
# (/usr/bin/time; ./dev.sh test installs it). Results: $BENCH_DIR/results/evaluate-*.txt
# (BENCH_DIR defaults to /tmp/leadcrawl-bench); figures go to bench/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
if [ "${1:-}" = --smoke ]; then SMOKE=1; shift; fi
RUNS=${1:-1}
LEADS=${2:-100000}
B=${BENCH_DIR:-/tmp/leadcrawl-bench}
PY=${LEADCRAWL_PYTHON:-$PWD/.venv/bin/python}
LC=$PWD/target/release/leadcrawl
FOLDS=5
[ -x /usr/bin/time ] || { echo "evaluate_farm: GNU time (/usr/bin/time) missing: sudo apt-get install time (./dev.sh test does)" >&2; exit 1; }
"$PY" -c 'import sklearn, pyarrow, scipy' || { echo "evaluate_farm: $PY lacks scikit-learn or pyarrow: run ./dev.sh test once" >&2; exit 1; }
cargo build --release --locked -q

if [ "$SMOKE" = 1 ]; then
  LEADS=2000 RUNS=1 FOLDS=3
  W=$(mktemp -d /tmp/leadcrawl-evaluate-smoke.XXXXXX)
  trap 'rm -rf "$W"' EXIT
  OUT=$W/results
else
  W=$B/evaluate-$LEADS
  OUT=$B/results
fi
mkdir -p "$W" "$OUT"
cat > "$W/pipeline.toml" <<TOML
[pipeline]
output_dir = "$W/out"
[ingest]
input = "$W/leads.csv"
[ingest.columns]
id = "Lead ID"
status = "Stage"
description = "Description"
[crawl]
contact_url = "https://example.org/leadcrawl-bench"
[registry]
registries = []
[embed]
threads = 2
[evaluate]
folds = $FOLDS
TOML
if [ ! -f "$W/prepared" ]; then
  "$PY" bench/evaluate_gen.py "$LEADS" "$W/leads.csv"
  s=$(date +%s)
  "$LC" --quiet run --config "$W/pipeline.toml" --stages ingest,crawl,extract,registry,embed,features
  echo "prepared $LEADS leads (ingest → features, embedding included) in $(( $(date +%s) - s )) s"
  touch "$W/prepared"
fi
cat > "$W/lc-evaluate.sh" <<SH
#!/bin/sh
exec $LC --quiet run --config $W/pipeline.toml --stages evaluate,score --force evaluate
SH
chmod +x "$W/lc-evaluate.sh"

R=$OUT/evaluate-$LEADS.txt
echo "== evaluate-$LEADS $(date -u +%FT%TZ), $RUNS round(s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$R"
# Rounds interleave the two, so that a load change on the shared machine hits them alike.
"$PY" - "$RUNS" "$W" "$PY" "$FOLDS" "$SMOKE" <<'PY' | tee -a "$R"
import json, re, statistics, subprocess, sys, tempfile
import pyarrow.parquet as pq
runs, w, py, folds, smoke = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"


def once(cmd):
    """Exit code, wall s, CPU s and peak RSS (MiB) of the whole process, from GNU time -v."""
    with tempfile.NamedTemporaryFile("r") as tf, open(f"{w}/last.log", "w") as log:
        rc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *cmd], stdout=log, stderr=log).returncode
        t = tf.read()
    val = lambda key: re.search(re.escape(key) + r".*?: (\S+)\n", t).group(1)
    wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(val("Elapsed (wall clock) time").split(":"))))
    return rc, wall, float(val("User time")) + float(val("System time")), int(val("Maximum resident set size")) / 1024


cmds = {
    "leadcrawl evaluate + score": [f"{w}/lc-evaluate.sh"],
    "scikit-learn, same steps": [py, "bench/evaluate_sklearn.py", f"{w}/out", f"{w}/sklearn.json", "--folds", folds],
}
res = {k: [] for k in cmds}
for r in range(runs):
    for k, c in cmds.items():
        rc, wall, cpu, rss = once(c)
        if rc != 0:
            sys.stdout.write(open(f"{w}/last.log").read()[-4000:])
            sys.exit(f"{k}: exit {rc}")
        res[k].append((wall, cpu, rss))
        print(f"round {r + 1}: {k}: {wall:.1f} s, cpu {cpu:.1f} s, peak {rss:.0f} MiB", flush=True)
print(f"\n{'(medians, whole process)':30}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}")
for k, xs in res.items():
    print(f"{k:30}{statistics.median(x[0] for x in xs):9.1f}{statistics.median(x[1] for x in xs):9.1f}"
          f"{statistics.median(x[2] for x in xs):10.0f}")

lc = json.load(open(f"{w}/out/evaluation.json"))
sk = json.load(open(f"{w}/sklearn.json"))
ours = {m["name"]: m for m in lc["models"]}
print(f"\n{lc['labelled']} labelled leads ({lc['won']} won), {lc['k']} folds")
print(f"{'ROC-AUC (out of fold)':40}{'leadcrawl':>10}{'sklearn':>10}{'control lc':>11}{'control sk':>11}")
problems = []
for name, s in sk["models"].items():
    m = ours.get(name)
    a = m["metrics"]["roc_auc"] if m else float("nan")
    c = dict((x["name"], x["metrics"]["roc_auc"]) for x in lc["control"]).get(name, float("nan"))
    print(f"{name:40}{a:10.4f}{s['roc_auc']:10.4f}{c:11.4f}{s['control_roc_auc']:11.4f}")
    if m is None:
        problems.append(f"{name}: not evaluated by leadcrawl")
        continue
    if abs(a - s["roc_auc"]) > 0.06:
        problems.append(f"{name}: ROC-AUC {a:.3f} (leadcrawl) vs {s['roc_auc']:.3f} (scikit-learn)")
    if not (0.35 < c < 0.65 and 0.35 < s["control_roc_auc"] < 0.65):
        problems.append(f"{name}: the shuffled-label control is not near chance")
nested = lc.get("nested") or {}
print(f"{'chosen model, nested (honest)':40}{nested.get('roc_auc') or float('nan'):10.4f}{sk['nested_roc_auc']:10.4f}"
      f"   best: {lc['best']} / {sk['best']}")
for name in ("gradient_boosted_trees", "logistic_attributes"):
    for side, x in (("leadcrawl", ours[name]["metrics"]["roc_auc"]), ("scikit-learn", sk["models"][name]["roc_auc"])):
        if x < 0.70:
            problems.append(f"{name}: {side} ROC-AUC {x:.3f} < 0.70: the generated signal is not found")
open_leads = pq.read_metadata(f"{w}/out/scores.parquet").num_rows
sk_scored = pq.read_metadata(f"{w}/sklearn.scores.parquet").num_rows
print(f"open leads scored: leadcrawl {open_leads}, scikit-learn {sk_scored}")
if open_leads == 0 or open_leads != sk_scored:
    problems.append(f"open leads scored: {open_leads} vs {sk_scored}")
if problems:
    sys.exit("evaluate_farm: " + "; ".join(problems))
PY
[ "$SMOKE" = 1 ] && echo "evaluate_farm --smoke: ok"
echo "results in $R"
