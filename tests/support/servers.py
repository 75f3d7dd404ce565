"""Server processes the tests start on loopback (bqemulator, Orthanc): a free port, a clean stop."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen | None, *, kill: bool = False, grace: float = 15.0) -> None:
    """End ``process``: SIGTERM and up to ``grace`` seconds to finish what it serves, then SIGKILL
    (at once with ``kill``). Nothing happens when it has already exited."""
    if process is None or process.poll() is not None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
