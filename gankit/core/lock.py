"""One writer per run directory: an exclusive `fcntl.flock` on RUN_DIR/.lock, held while a run trains.

The lock file records its holder (pid, host, start time) so that a refused second writer can name it. The
kernel drops a flock when its process dies, however it dies; a lock file that still names a holder when
the lock is free was left by a killed run and is taken over with a warning.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import warnings
from pathlib import Path

from gankit.errors import GankitError


class RunLockedError(GankitError):
    """Another process is writing to this run directory."""


def _describe(info: dict) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {when}"


def _read(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace").strip()
    try:
        info = json.loads(text) if text else {}
    except json.JSONDecodeError:
        info = {}
    return info if isinstance(info, dict) else {}


class RunLock:
    """`with RunLock(run_dir):` ... ; raises RunLockedError naming the holder when another process has it."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise RunLockedError(f"{self.path.parent} is in use by another gankit process ({_describe(holder)}); "
                                 "wait for it to finish or stop it first") from None
        old = _read(fd)
        if old:
            warnings.warn(f"{self.path.parent}: taking over the lock left by {_describe(old)}, which is no longer "
                          "running (killed?)", RuntimeWarning, stacklevel=2)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(me).encode())
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)  # an empty file: released cleanly, nothing to take over
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
