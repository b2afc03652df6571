#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: virtual environment, dependencies, default data.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${GANKIT_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  # The local CPU wheel keeps this machine fast; elsewhere take a normal torch.
  "$VENV/bin/pip" install -q torch==2.13.0 2>/dev/null || "$VENV/bin/pip" install -q "torch>=2.1"
fi
stamp="$VENV/.gankit-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing gankit and its dependencies into $VENV"
  "$VENV/bin/pip" install -q -e ".[test]" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import gankit, torch, safetensors, scipy, sklearn" && touch "$stamp"
fi

# Default data: Debian's real Fashion-MNIST when apt is there and we are root; otherwise gankit
# downloads it into its cache (with SHA-256 checks) on first use.
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing dataset-fashion-mnist"
  { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; } \
    || echo "setup: apt could not install dataset-fashion-mnist; gankit will download Fashion-MNIST on first use"
fi
