#!/usr/bin/env bash
# Create (idempotently) the reference virtual environment .venv-ref used by the
# metric reference tests (tests/metrics/test_reference*.py; pysepm for the speech
# measures LLR / WSS / segmental SNR).
#
# torch-fidelity and pytorch-fid import torchvision, which only imports here as
# torch==2.14.1 + torchvision==0.29.1, while the main .venv has torch 2.13 (CPU).
# So the references live in their own venv; gankit is installed into it
# editable with --no-deps. Re-running is a no-op while the requirement list
# below is unchanged (a stamp file records it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GANKIT_REF_VENV:-$REPO/.venv-ref}"
PYTHON="${PYTHON:-python3}"

REQS=(
  "torch==2.14.1"
  "torchvision==0.29.1"
  "torch-fidelity==0.4.0"
  "pytorch-fid==0.3.0"
  "prdc==0.2"
  "pot==0.9.7.post1"
  "pysepm-evo==0.1.1"
  "numpy"
  "scipy"
  "scikit-learn"
  "pillow"
  "tqdm"
)
STAMP="$VENV/.gankit-ref-stamp"
WANT="$(printf '%s\n' "${REQS[@]}" | sha256sum | cut -c1-16)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "ref-venv: $VENV is up to date"
  exit 0
fi

start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/pip" install -q "${REQS[@]}"
"$VENV/bin/pip" install -q --no-deps -e "$REPO"
"$VENV/bin/python" - <<'EOF'
import torch, torchvision, torch_fidelity, pytorch_fid, prdc, ot, gankit.metrics  # noqa: F401
print("ref-venv: torch", torch.__version__, "torchvision", torchvision.__version__,
      "torch-fidelity", torch_fidelity.__version__)
EOF
echo "$WANT" > "$STAMP"
echo "ref-venv: ready in $(( $(date +%s) - start )) s at $VENV"
