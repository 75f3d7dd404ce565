"""Where a DuckDB build happens, so that a failed or half-finished build is never served.

A build never writes the database it replaces. It takes a lock beside the target
(``<db>.lock``: an advisory ``flock`` plus the holder's pid and start time, for messages),
builds into a new file in ``<db>.building/`` (same file name, so DuckDB's catalog
name is the same), records what it built in the table ``idc_qc_build``, and only when
dbt succeeded moves the new file over the old one with one ``os.replace`` (atomic on one
file system). Ctrl-C, SIGKILL, a full disk or a dbt error leave the previous database
untouched; the next build reports the leftovers of one that died and removes them.

A partial build (``--select``) starts from a copy of the previous database, so the
models it does not select are kept (as dbt does when it builds into an existing
database); the build record says which models each build wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .database.files import BUILDING_SUFFIX, lock_path, staging_dir, staging_file, wal_path
from .database.lock import LockHolder, read_lock
from .errors import EXIT_INTERRUPTED, INTERRUPTED_LINE, BuildLocked, IdcQcError

# The names of the lock, the staging folder and the WAL are the room's (idc_qc/database/files.py).
# One build at a time holds the lock, so the staging name needs no pid; a stable name keeps
# dbt's profile (and so its partial parsing) the same from one build to the next.


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Leftover:
    """What a build that died (SIGKILL, power loss) left beside the database: its lock record and folder."""

    holder: LockHolder | None
    removed: list[Path]

    def describe(self) -> str:
        who = f"(pid {self.holder.pid}, started {self.holder.started}) " if self.holder else ""
        return f"an earlier build {who}did not finish; the previous database was kept and its leftovers were removed"


class BuildLock:
    """Exclusive right to build ``db``: ``flock`` on ``<db>.lock``, released by the kernel on death."""

    def __init__(self, db: Path, command: str = "build") -> None:
        self.db = db
        self.path = lock_path(db)
        self.command = command
        self.fd: int | None = None
        self.leftover: Leftover | None = None

    def acquire(self) -> "BuildLock":
        import fcntl

        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = read_lock(self.db)
                who = holder.describe() if holder else "another process"
                raise BuildLocked(f"another build ({who}) is writing {self.db}; wait for it or pick another --db") from None
            # The file may have been unlinked by its previous holder between open and flock.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:  # pragma: no cover - five lost races in a row
            raise BuildLocked(f"could not lock {self.path}")
        self.fd = fd
        try:
            previous = read_lock(self.db)
            removed = remove_leftovers(self.db)
            if previous is not None or removed:
                self.leftover = Leftover(holder=previous, removed=removed)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "started": _now(), "command": self.command}).encode(), 0)
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)  # closing drops the flock
        self.fd = None

    def __enter__(self) -> "BuildLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def remove_leftovers(db: Path) -> list[Path]:
    """Remove a ``<db>.building`` folder left by a build that died.

    Call only while holding the lock and before creating this build's folder: every live
    build holds the lock, so such a folder belongs to a build that died.
    """
    removed = []
    for path in db.parent.glob(db.name + BUILDING_SUFFIX + "*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@dataclass
class Staging:
    """The new database while it is being built, and how it replaces the old one."""

    db: Path
    folder: Path
    file: Path

    @staticmethod
    def path(db: Path) -> Path:
        """Where the new database is built (before ``create``)."""
        return staging_file(db)

    @classmethod
    def create(cls, db: Path, *, start_from_previous: bool) -> "Staging":
        folder = staging_dir(db)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        staging = cls(db=db, folder=folder, file=folder / db.name)
        try:
            if start_from_previous and db.exists():
                shutil.copyfile(db, staging.file)
                if wal_path(db).exists():
                    shutil.copyfile(wal_path(db), wal_path(staging.file))
        except BaseException:
            staging.discard()
            raise
        return staging

    def install(self) -> None:
        """Move the finished file over the previous database in one step."""
        if wal_path(self.file).exists():
            raise IdcQcError(f"the new database {self.file} was not checkpointed; the previous one was kept")
        os.replace(self.file, self.db)
        # A write-ahead log of the replaced file would be replayed onto the new one.
        wal_path(self.db).unlink(missing_ok=True)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def discard_failed_build_output(work_dir: Path, error: BaseException) -> None:
    """After a failed build, remove what dbt wrote for it under ``work_dir`` (``target/run``,
    ``target/compiled``: regenerated by every build). On a full disk remove dbt's whole work
    folder (logs and partial-parse state too): a failed build must not keep the disk full."""
    text = str(error)
    full = getattr(error, "errno", None) == 28 or "No space left on device" in text or "no space left" in text.lower()
    targets = [work_dir] if full else [work_dir / "target" / "run", work_dir / "target" / "compiled"]
    for path in targets:
        shutil.rmtree(path, ignore_errors=True)


def pause_for_tests(point: str) -> None:
    """Test hook: ``IDC_QC_TEST_PAUSE_AT=<point>`` pauses the build at ``point``.

    Points are ``before_dbt`` and ``before_install`` (in the build) and the name of a
    model (when dbt starts it). The process prints one line ``IDC_QC_TEST_PAUSE_AT
    paused at <point>`` to stderr and sleeps up to IDC_QC_TEST_PAUSE_SECONDS (default
    60) so a fault-injection test can deliver SIGINT or SIGKILL at a known moment; Ctrl-C
    lets it go, unless IDC_QC_TEST_PAUSE_HOLD=1 (a worker that does not stop when asked).
    Unset (always, outside tests) it does nothing.
    """
    wanted = os.environ.get("IDC_QC_TEST_PAUSE_AT")
    if not wanted or wanted != point:
        return
    import sys

    sys.stderr.write(f"IDC_QC_TEST_PAUSE_AT paused at {point}\n")
    sys.stderr.flush()
    deadline = time.monotonic() + float(os.environ.get("IDC_QC_TEST_PAUSE_SECONDS", "60"))
    hold = os.environ.get("IDC_QC_TEST_PAUSE_HOLD") == "1"
    while time.monotonic() < deadline and not (_pause_released.is_set() and not hold):
        time.sleep(0.05)


import threading  # noqa: E402 - used only by the test hook above

_pause_released = threading.Event()
#: Set by Ctrl-C during a build: progress after it (nodes dbt cancels) is not shown.
interrupted = threading.Event()


def release_pauses() -> None:
    """Let a paused worker thread go (after an interrupt, so the process can end)."""
    _pause_released.set()


def _unlink_semaphores() -> None:
    """Before ``os._exit``: unlink the named semaphores dbt's multiprocessing context made, which
    only their finalizers (skipped by ``os._exit``) remove; otherwise multiprocessing's resource
    tracker warns about them after the process ended, below its last line."""
    try:
        from multiprocessing import util
        from multiprocessing.synchronize import SemLock

        for finalizer in list(util._finalizer_registry.values()):
            if getattr(finalizer, "_callback", None) is SemLock._cleanup:
                finalizer()
    except Exception:  # noqa: BLE001 - private API of the standard library: at worst the tracker warns
        pass


#: Said at the first Ctrl-C: dbt may take a while to cancel its queries.
STOPPING_LINE = "stopping the build (Ctrl-C again ends it now; it is ended anyway after {grace:g} s)"


def _say(line: str) -> None:
    import sys

    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stderr: the interrupt goes on regardless
        pass


#: How long a build may take to stop after Ctrl-C before it is ended outright (its staged files
#: and lock removed first); $IDC_QC_INTERRUPT_GRACE_SECONDS changes it. dbt cancels its queue and
#: waits for its worker threads: a query the interrupt cannot reach must not keep the terminal.
INTERRUPT_GRACE_SECONDS = 30.0
GRACE_ENV = "IDC_QC_INTERRUPT_GRACE_SECONDS"


class sigint_releases_pauses:
    """While building, Ctrl-C also lets a paused worker thread go, so dbt's shutdown (which
    waits for its worker threads) is not held up by the test hook. Ctrl-C still raises
    KeyboardInterrupt in the main thread, as Python's default handler does.

    A build that has not stopped :data:`INTERRUPT_GRACE_SECONDS` after Ctrl-C, or a second
    Ctrl-C, ends the process (exit 130) after the cleanups registered with :meth:`on_force_end`
    ran (the build's: its staging folder and its lock), so the previous database stays served
    and nothing is left for the next build to clear."""

    def __init__(self, grace_seconds: float | None = None) -> None:
        if grace_seconds is None:
            try:
                grace_seconds = float(os.environ.get(GRACE_ENV) or INTERRUPT_GRACE_SECONDS)
            except ValueError:
                raise IdcQcError(f"${GRACE_ENV} must be a number of seconds, not {os.environ[GRACE_ENV]!r}") from None
        self.grace = grace_seconds
        self.cleanups: list = []
        self.timer: threading.Timer | None = None

    def on_force_end(self, cleanup) -> None:
        """Run ``cleanup()`` if the process has to be ended before the build unwinds itself."""
        self.cleanups.append(cleanup)

    def force_end(self, why: str) -> None:
        import sys

        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - ending anyway: one failed cleanup must not stop the others
                pass
        _unlink_semaphores()
        try:
            sys.stderr.write(f"Note: {why}; ended it\n{INTERRUPTED_LINE}\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_INTERRUPTED)

    def _on_sigint(self) -> None:
        """Each Ctrl-C, seen by the watcher thread whichever thread the signal reached: say the
        build is stopping, let a paused worker go and start the grace timer; end on the second."""
        with self.lock:
            self.count += 1
            first = self.count == 1
        if not first:
            self.force_end("a second Ctrl-C")
        interrupted.set()
        _say(STOPPING_LINE.format(grace=self.grace))
        release_pauses()
        self.timer = threading.Timer(
            self.grace, self.force_end, args=(f"the build did not stop within {self.grace:g} s of Ctrl-C",))
        self.timer.daemon = True
        self.timer.start()

    def _watch(self, read_fd: int) -> None:
        import signal

        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:  # the write end closed: the build is over
                return
            for signum in data:
                if signum == signal.SIGINT:
                    self._on_sigint()

    def __enter__(self):
        import signal

        self.previous = None
        self.count = 0
        self.lock = threading.Lock()
        self.pipe = None
        interrupted.clear()
        _pause_released.clear()
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            # The kernel hands SIGINT to any thread of the process; Python runs its handler in the
            # main thread only when that thread next runs, and a main thread waiting for dbt's
            # workers (a lock, a condition) may not run until a worker finishes its model. The
            # signal's number is written to a pipe whichever thread it reached (set_wakeup_fd):
            # a watcher thread acts on it at once, and the main thread raises KeyboardInterrupt
            # when it runs.
            read_fd, write_fd = os.pipe()
            os.set_blocking(write_fd, False)
            self.pipe = (read_fd, write_fd)
            self.previous_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
            self.watcher = threading.Thread(target=self._watch, args=(read_fd,), daemon=True,
                                            name="idc-qc Ctrl-C watcher")
            self.watcher.start()

            def handler(signum, frame):  # the watcher says so, times and ends; here: unwind
                interrupted.set()
                release_pauses()
                raise KeyboardInterrupt

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self.timer is not None:
            self.timer.cancel()
        if self.pipe is not None:
            signal.set_wakeup_fd(self.previous_wakeup)
            os.close(self.pipe[1])  # the watcher reads end-of-file and returns
            self.watcher.join(timeout=5)
            os.close(self.pipe[0])
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
