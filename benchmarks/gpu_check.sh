#!/usr/bin/env bash
# The GPU check of issue 18, for the day a CUDA machine is lent (about 6 minutes on one GPU):
#   bash benchmarks/gpu_check.sh            (PY=path/to/python to choose the interpreter)
# 1. img/s and peak memory of dcgan-fashion's step (hooks off) in fp32, bf16, bf16 + channels_last, bf16 + compile;
# 2. gankit (hooks at their defaults) vs the plain reference script, interleaved, fp32;
# 3. the CUDA tests (tests/core/test_accel_cuda.py; they skip on a machine without CUDA).
# Paste its output into docs/benchmarks.md with the date, the GPU and the torch version.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
$PY - <<'PYEOF'
import torch
assert torch.cuda.is_available(), "no CUDA device: this check is for a GPU machine"
print("#", torch.cuda.get_device_name(), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
PYEOF
for opts in "" "--set train.amp=bf16" "--set train.amp=bf16 --set train.channels_last=true" \
            "--set train.amp=bf16 --set train.compile=true"; do
  timeout 150 $PY benchmarks/train_throughput.py dcgan-fashion --device cuda --steps 300 --warmup 30 $opts | tail -n 1
done
timeout 120 $PY benchmarks/compare_reference.py --device cuda --rounds 2 --steps 300 --warmup 30 | tail -n 1
timeout 120 $PY -m pytest -q tests/core/test_accel_cuda.py
