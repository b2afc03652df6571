"""Runs `gankit train ...` in this process with one fault injected (for tests/core/test_fault_injection.py).

    python fault_driver.py KIND N -- gankit-train-args...

KIND: step-kill (SIGKILL after step N), write-kill (SIGKILL inside the N-th file rename of a checkpoint
write), step-term (SIGTERM after step N), write-term (SIGTERM inside the N-th rename), write-term2 (two
SIGTERMs inside it). The signal goes to this very process, so the fault lands exactly where it says.
"""

from __future__ import annotations

import os
import signal
import sys

from gankit.cli import main
from gankit.core import checkpoint as ck
from gankit.core.loop import Trainer


def inject(kind: str, n: int) -> None:
    if kind == "none":
        return
    sig = signal.SIGKILL if kind.endswith("kill") else signal.SIGTERM
    times = 2 if kind.endswith("term2") else 1
    count = {"step": 0, "write": 0}

    def fire() -> None:
        for _ in range(times):
            os.kill(os.getpid(), sig)

    if kind.startswith("step"):
        run_step = Trainer.run_step

        def counted(self):
            out = run_step(self)
            count["step"] += 1
            if count["step"] == n:
                fire()
            return out

        Trainer.run_step = counted
    else:
        replace = os.replace

        def counted_replace(src, dst):
            count["write"] += 1
            if count["write"] == n:
                fire()
            return replace(src, dst)

        ck.os = type(sys)("os_for_checkpoints")
        ck.os.__dict__.update(os.__dict__)
        ck.os.replace = counted_replace


if __name__ == "__main__":
    kind, n, _, *args = sys.argv[1:]
    inject(kind, int(n))
    sys.exit(main(args))
