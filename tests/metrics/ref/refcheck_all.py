"""Run both reference comparisons in one process (one torch/torchvision import): prints
{"metrics": {...}, "inception": {...}} as JSON. Usage: .venv-ref/bin/python refcheck_all.py [seed]"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import refcheck_inception  # noqa: E402
import refcheck_metrics  # noqa: E402

if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    metrics = refcheck_metrics.checks(refcheck_metrics.features(seed))
    captured = io.StringIO()
    with redirect_stdout(captured):
        refcheck_inception.main(seed)
    print(json.dumps({"metrics": metrics, "inception": json.loads(captured.getvalue().strip().splitlines()[-1])}))
