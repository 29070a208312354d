#!/usr/bin/env bash
# CTGAN on a GPU against the CPU: fits the default CTGAN (300 epochs) on the bundled demo
# corpus's features once with --device cuda and once with --device cpu, and prints both fit
# times and the ratio (issue 16). Unattended; needs a machine with an NVIDIA GPU where the
# repository is copied and `bash scripts/setup.sh` has run (PyPI's torch wheel for Linux
# carries CUDA). Without a GPU it stops at once with exit code 2.
#
#   bash benchmarks/bench_fit_gpu.sh                      # 300 epochs, cuda then cpu
#   EPOCHS=30 bash benchmarks/bench_fit_gpu.sh            # a quicker look
#   DEVICES=cpu EPOCHS=2 bash benchmarks/bench_fit_gpu.sh # the script itself, without a GPU
#   PY=python3 bash benchmarks/bench_fit_gpu.sh           # a Python whose path holds cimgen's needs
#
# Output: one line per fit, then a JSON line (also appended to the file $RESULTS when set) with the GPU's
# name, both fit times (the manifest's fit_seconds: SDV's fit incl. its data transformers),
# the wall time of each `cimgen fit` and the CPU/GPU ratio. The CPU fit runs on cimgen's
# fixed torch thread count (TORCH_THREADS, one), as `cimgen generate` does on any machine.
# A fit of 300 epochs takes 4-5 min on either device (2026-12-04: 257.5 s on an H200):
# give the whole script 12 min.
set -euo pipefail
cd "$(dirname "$0")/.."

EPOCHS="${EPOCHS:-300}"
DEVICES="${DEVICES:-cuda cpu}"
PY="${PY:-.venv/bin/python}"
if ! command -v "$PY" >/dev/null || ! "$PY" -c 'import sdv, torch, lark, pglast' 2>/dev/null; then
  echo "error: $PY cannot import cimgen's needs. Run 'bash scripts/setup.sh' first (or set PY)." >&2
  exit 2
fi
CIMGEN=("$PY" -m cimgen.cli)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

gpu="none"
if [[ " $DEVICES " == *" cuda "* ]]; then
  if ! gpu="$("$PY" -c '
import sys, torch
if not torch.cuda.is_available():
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    sys.exit(f"error: torch {torch.__version__} ({build}) sees no CUDA device; this benchmark "
             "needs a machine with an NVIDIA GPU (or DEVICES=cpu to try the script).")
print(torch.cuda.get_device_name(0))
')"; then
    exit 2
  fi
fi

work="$(mktemp -d /tmp/cimgen-bench-gpu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export CIMGEN_CACHE_DIR="$work/cache"  # nothing lands in the user's cache

corpus="$("$PY" -c 'from cimgen.corpus import load_demo_corpus; print(load_demo_corpus())')"
echo "extracting features of $corpus ..."
"${CIMGEN[@]}" features --stage1 "$corpus" --out "$work/features.parquet" >/dev/null

declare -A fit_s wall_s
for dev in $DEVICES; do
  start=$(date +%s.%N)
  if ! "${CIMGEN[@]}" fit --features "$work/features.parquet" --synthesizer ctgan --epochs "$EPOCHS" \
    --device "$dev" --seed 0 --out "$work/model-$dev" </dev/null >/dev/null \
    2>"$work/progress-$dev.log"; then
    tail -n 20 "$work/progress-$dev.log" >&2
    echo "error: the $dev fit failed (its last lines above)." >&2
    exit 1
  fi
  end=$(date +%s.%N)
  wall_s[$dev]=$("$PY" -c "print(round($end - $start, 1))")
  fit_s[$dev]=$("$PY" -c "
import json; m = json.load(open('$work/model-$dev/manifest.json'))
assert m['device'] == '$dev', m['device']
print(m['fit_seconds'])")
  echo "ctgan $EPOCHS epochs on $dev: fit ${fit_s[$dev]} s (command ${wall_s[$dev]} s wall)"
done

"$PY" - "$gpu" "$EPOCHS" "${fit_s[cpu]:-}" "${fit_s[cuda]:-}" "${wall_s[cpu]:-}" \
  "${wall_s[cuda]:-}" <<'EOF' | tee -a "${RESULTS:-/dev/null}"
import json, os, platform, sys
from datetime import UTC, datetime

import torch

gpu, epochs, cpu, cuda, cpu_wall, cuda_wall = sys.argv[1:]
line = {
    "benchmark": "fit_gpu",
    "date": datetime.now(UTC).isoformat(timespec="minutes"),
    "gpu": gpu,
    "machine": f"{platform.machine()} {os.cpu_count()} cpu",
    "load_avg": round(os.getloadavg()[0], 2),
    "torch": torch.__version__,
    "epochs": int(epochs),
    "fit_s": {"cpu": float(cpu) if cpu else None, "cuda": float(cuda) if cuda else None},
    "command_wall_s": {
        "cpu": float(cpu_wall) if cpu_wall else None,
        "cuda": float(cuda_wall) if cuda_wall else None,
    },
    "cpu_over_cuda": round(float(cpu) / float(cuda), 2) if cpu and cuda else None,
}
print(json.dumps(line))
EOF
