#!/usr/bin/env bash
# Prospects benchmark (issue 16 item 6): the universe load of bench/universe.sh plus scoring, side
# by side with pandas + scikit-learn: `leadcrawl run --stages ingest,crawl,extract,registry,
# prospects` (the universe already loaded) against bench/prospects_sklearn.py (the same model kind,
# L2 logistic regression, fitted on the same clients and a 20,000-company background, then
# `predict_proba` on every active company), whole processes under /usr/bin/time -v.
#
#   bench/prospects.sh [ROWS]     (default 29000000)
#   bench/prospects.sh --smoke    (100000 rows)
#
# The lead list (500 clients, 10 lost leads, from the generated stock: bench/prospects_leads.py)
# is drawn before anything is timed. Results in /tmp/leadcrawl-bench/results/universe-ROWS.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=29000000
ARG=${1:-}
if [ "$ARG" = "--smoke" ]; then ROWS=100000; elif [ -n "$ARG" ]; then ROWS=$ARG; fi
PY=${LEADCRAWL_PYTHON:-$PWD/.venv/bin/python}
W=/tmp/leadcrawl-bench/universe-$ROWS
mkdir -p "$W/leadcrawl"
STOCK=$W/StockUniteLegale_utf8.parquet
if [ ! -s "$STOCK" ]; then
  "$PY" bench/universe_gen.py "$ROWS" "$STOCK.tmp"
  mv "$STOCK.tmp" "$STOCK"
fi
"$PY" bench/prospects_leads.py "$STOCK" "$W/leads.csv"
REPO=$PWD
# leadcrawl: the universe's config plus a lead list (no websites, no registry API: only the
# prospects stage has work).
LC_SCORE="cp $W/leads.csv leads.csv && { cat pipeline.toml; printf '[ingest]\ninput = \"leads.csv\"\n[registry]\nregistries = []\n'; } >prospects.toml && leadcrawl -q run --config prospects.toml --stages ingest,crawl,extract,registry,prospects && test -s out/prospects.parquet"
PANDAS_SCORE="$PY $REPO/bench/prospects_sklearn.py universe.parquet $W/leads.csv"
export LC_SCORE PANDAS_SCORE
exec bench/universe.sh "$ARG"
