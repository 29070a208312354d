#!/usr/bin/env bash
# Run the whole test suite against a throwaway PostGIS cluster (started and removed here).
# Needs `bash scripts/setup.sh --dev` first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate

# Fixture databases and fitted models go to a throwaway cache, never the user's.
own_cache=""
if [ -z "${CIMGEN_CACHE_DIR:-}" ]; then
  CIMGEN_CACHE_DIR="$(mktemp -d /tmp/cimgen-cache.XXXXXX)"
  own_cache="$CIMGEN_CACHE_DIR"
fi
export CIMGEN_CACHE_DIR
cluster="$(mktemp -d /tmp/cimgen-pg.XXXXXX)"
cleanup() {
  cimgen db down --dir "$cluster" >/dev/null 2>&1 || true
  if [ -n "$own_cache" ]; then rm -rf "$own_cache"; fi
}
trap cleanup EXIT

cimgen db up --dir "$cluster" >/dev/null
CIMGEN_TEST_POSTGIS_DSN="$(cat "$cluster/dsn")"
export CIMGEN_TEST_POSTGIS_DSN
echo "PostGIS for tests: $CIMGEN_TEST_POSTGIS_DSN"

ruff check cimgen tests benchmarks scripts
ruff format --check cimgen tests benchmarks scripts
mypy
python -m pytest "$@"
