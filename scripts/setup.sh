#!/usr/bin/env bash
# Set up cimgen in ./.venv: PyTorch's local CPU build first, then the package, and the Debian
# packages the commands need.
#   bash scripts/setup.sh          # the tool: generate, validate, bench (SpatiaLite included)
#   bash scripts/setup.sh --dev    # + test and lint tools, Ray, PostGIS and Chromium for the tests
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: SpatiaLite (mod_spatialite) executes the SpatiaLite SQL in generate,
# validate and bench; the tests also use PostGIS for the gold check and Chromium to
# render the HTML report headless.
debs=(libsqlite3-mod-spatialite)
if [ "${1:-}" = "--dev" ]; then
  debs+=(postgresql-15-postgis-3 chromium)
fi
need=()
for pkg in "${debs[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
fi

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
  # the ray extra too: the tests run `--executor ray` on a local Ray cluster
  python -m pip install -q -e ".[dev,ray]"
else
  python -m pip install -q -e .
fi
# mod_spatialite must load into the SQLite that apsw bundles: say so now, not mid-run
python -c "from cimgen.engines.spatialite import unavailable; import sys; \
problem = unavailable(); print('SpatiaLite: ' + (problem or 'ok')); sys.exit(1 if problem else 0)"
echo "cimgen installed in $(pwd)/.venv — activate with: . .venv/bin/activate"
