#!/usr/bin/env bash
# leadcrawl's two commands. Each does all of its set-up itself and is safe to repeat.
#
#   ./dev.sh demo [--out DIR]   set up the embedding model, build leadcrawl and run the whole
#                               pipeline offline on the demo
#   ./dev.sh test               set up the test tools (Python packages, Debian's chromium) and the
#                               model, run the whole test suite
#
# Needs: a Rust toolchain (cargo), python3 with pip, a C compiler; for `test`, apt-get (as root or
# with sudo) when Chromium is missing. Nothing else.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

say() { printf '[dev.sh] %s\n' "$*" >&2; }

# Python with pyarrow, duckdb and polars for the read-back tests: a private venv, or a private
# package folder when this python cannot make venvs (Debian without python3-venv).
setup_python() {
  local stamp=.venv/.requirements
  if [ -x .venv/bin/python ] && cmp -s requirements-dev.txt "$stamp" 2>/dev/null; then
    export LEADCRAWL_PYTHON="$ROOT/.venv/bin/python"; return
  fi
  if python3 -m venv .venv >/dev/null 2>&1 && [ -x .venv/bin/python ]; then
    say "installing Python test packages into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
    cp requirements-dev.txt "$stamp"
    export LEADCRAWL_PYTHON="$ROOT/.venv/bin/python"
  else
    rm -rf .venv
    say "python3 -m venv unavailable; installing Python test packages into .cache/pylib"
    python3 -m pip install -q --disable-pip-version-check --target .cache/pylib -r requirements-dev.txt
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

# Debian packages the tests use: Chromium (the report opens in headless Chromium). Installed with
# apt-get when missing (as root, or with password-less sudo).
setup_system() {
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
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
    exec cargo test --release --locked --workspace "$@"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
