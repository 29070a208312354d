#!/usr/bin/env bash
# Set up cimgen in ./.venv: PyTorch's local CPU build first, then the package.
#   bash scripts/setup.sh          # the tool
#   bash scripts/setup.sh --dev    # + test and lint tools, and the Debian packages tests use
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned: the local CPU build. Installing SDV first would pull CUDA wheels.
python -m pip install -q "torch==2.13.0"
if [ "${1:-}" = "--dev" ]; then
  python -m pip install -q -e ".[dev]"
  # Debian packages the tests use: PostGIS for the gold check, SpatiaLite for the
  # SpatiaLite backend, Chromium to render the HTML report headless.
  need=()
  for pkg in postgresql-15-postgis-3 libsqlite3-mod-spatialite chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
  fi
else
  python -m pip install -q -e .
fi
echo "cimgen installed in $(pwd)/.venv — activate with: . .venv/bin/activate"
