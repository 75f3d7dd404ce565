"""Who is building a database: the lock file beside it (``<db>.lock``).

A build holds an advisory ``flock`` on it for as long as it runs (idc_qc/workspace.py takes it)
and writes its pid and start time into it, for messages. Readers ask :func:`build_in_progress`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .files import lock_path


@dataclass
class LockHolder:
    pid: int
    started: str
    command: str = ""

    def describe(self) -> str:
        return f"pid {self.pid}, started {self.started}"


def read_lock(db: Path) -> LockHolder | None:
    """Who holds (or last held) the build lock of ``db``, if anyone wrote it."""
    try:
        data = json.loads(lock_path(db).read_text() or "{}")
        return LockHolder(pid=int(data["pid"]), started=str(data.get("started", "?")), command=data.get("command", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_in_progress(db: Path) -> LockHolder | None:
    """The running build writing ``db``, or None (a lock left by a dead process does not count)."""
    import fcntl

    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_lock(db) or LockHolder(pid=0, started="?")
    finally:
        os.close(fd)
    return None
