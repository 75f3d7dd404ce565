"""Which build a database holds, what its latest attempt did, and whether results describe it.

* **Build id**: every build gets one (:func:`new_build_id`); the database's ``idc_qc_build``
  table and the run manifest record it; a partial build gets its own.
* **Attempts**: a build writes ``<stem>.attempt.json`` when it starts and when it ends
  (complete, checks_failed, failed, interrupted). A build killed outright leaves ``building``
  with no live lock: :func:`failed_attempt` says so, and every reader warns.
* **Binding**: results computed from a build (validation, failures, report, exports) carry its
  id; :func:`check_results_current` refuses results whose id is not the database's current one.
* **Scope**: a partial build (``--select``) keeps the input of the database it starts from
  (:func:`partial_build_scope`), so a database never mixes the whole index with an input's series.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import IdcQcError
from .atomic import write_json
from .files import attempt_path

FINISHED = ("complete", "checks_failed")


def new_build_id() -> str:
    """Twelve hex digits, unique per build (also per partial build)."""
    return uuid.uuid4().hex[:12]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# attempts


def record_attempt(db: Path, build_id: str, status: str, *, selection: str | None = None,
                   error: str | None = None) -> None:
    """Write ``<stem>.attempt.json``: status ``building`` when a build starts, its outcome when it ends."""
    path = attempt_path(db)
    current = read_attempt(db) if status != "building" else None
    entry: dict[str, Any] = dict(current or {}) if (current or {}).get("build_id") == build_id else {}
    entry.update({"build_id": build_id, "status": status, "pid": os.getpid()})
    if status == "building":
        entry.update({"started_at": _now(), "selection": selection})
    else:
        entry["finished_at"] = _now()
    if error:
        entry["error"] = error.splitlines()[0][:500] if error.strip() else error
    try:
        write_json(path, entry)
    except OSError:  # a full disk must not hide the build's own error
        pass


def read_attempt(db: Path) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(attempt_path(db).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def failed_attempt(db: Path, current_build_id: str | None = None) -> str | None:
    """One line when the latest build attempt into ``db`` did not install a database; else None.

    A running build is not a failed one (readers say that separately)."""
    attempt = read_attempt(db)
    if not attempt or attempt.get("build_id") == current_build_id and attempt.get("status") in FINISHED:
        return None
    status = attempt.get("status")
    if status in FINISHED:
        return None
    if status == "building":
        from .lock import build_in_progress

        if build_in_progress(Path(db)) is not None:
            return None
        how = "was killed before it finished"
    elif status == "interrupted":
        how = "was interrupted (Ctrl-C)"
    else:
        how = "failed" + (f" ({attempt['error']})" if attempt.get("error") else "")
    held = f"build {current_build_id}" if current_build_id else "the previous build"
    return (f"the latest build attempt (build {attempt.get('build_id')}, started {attempt.get('started_at', '?')}) "
            f"{how}; {db} still holds {held}")


def build_notes(db: Path) -> list[str]:
    """What a reader of ``db`` must say before its results: a build running into it now, the
    latest attempt failed or killed (one line each; none for a sound, idle database)."""
    import duckdb

    from .lock import build_in_progress
    from .record import is_duckdb_file, read_build_record

    db = Path(db)
    if not is_duckdb_file(db):
        return []
    notes = []
    running = build_in_progress(db)
    if running is not None:
        notes.append(f"a build into {db} is running ({running.describe()}); reading the previous complete build")
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            record = read_build_record(con)
    except duckdb.Error:
        return notes
    failed = failed_attempt(db, record.build_id if record is not None else None)
    return notes + ([failed] if failed else [])


# ---------------------------------------------------------------------------------------------
# results bound to their build


@dataclass
class StaleResults(IdcQcError):
    """Results beside a database that describe another build than the one it holds."""

    message: str

    def __str__(self) -> str:
        return self.message


def check_results_current(db: Path, results_build_id: str | None, current_build_id: str | None, *,
                          what: str, rerun: str) -> None:
    """Refuse ``what`` (e.g. "the check results <file>") when it was computed from another build.

    ``rerun`` is the command that makes fresh results (``idc-qc check --db ...``)."""
    if current_build_id is None:
        return  # a database built before build records: nothing to compare with
    if results_build_id is None:
        raise StaleResults(f"{what} do not say which build they describe (written by an older idc-qc); "
                           f"run `{rerun}` again")
    if results_build_id != current_build_id:
        raise StaleResults(f"{what} describe build {results_build_id}, but {db} now holds build {current_build_id}: "
                           f"run `{rerun}` again")


# ---------------------------------------------------------------------------------------------
# scope of a partial build


@dataclass
class BuildScope:
    """What a build reads: instance files (None: the index alone) and whether ``series`` keeps the whole index."""

    instances: str | None
    whole_index: bool
    note: str | None = None


def instances_argument(instances: str | None) -> str | None:
    """``--instances`` as the run manifest records it (``build.instances``): local paths made
    absolute, so a later partial build in another folder reads the same files."""
    if instances is None:
        return None
    from ..instances.files import is_remote

    text = os.fspath(instances)
    return text if is_remote(text) else os.path.abspath(os.path.expanduser(text))


def partial_build_scope(db: Path, instances: str | None, whole_index: bool) -> BuildScope:
    """The scope of a ``--select`` build into ``db``: the one the database already has.

    Without ``--instances`` (and ``--whole-index``) the previous build's ``--instances`` and
    series scope are taken again, so the models rebuilt agree with the ones kept; an explicit
    ``--instances`` or ``--whole-index`` that differs from the previous build's is refused in
    one line (a full build, without ``--select``, changes the scope)."""
    from .manifest import read_manifest

    db = Path(db)
    if not db.exists():
        return BuildScope(instances, whole_index)
    manifest = read_manifest(db) or {}
    build = manifest.get("build") or {}
    files_before = sorted(os.path.realpath(e["path"]) for e in ((manifest.get("inputs") or {}).get("instances") or []))
    if "series_scope" not in build or "instances" not in build:
        # No manifest (a copied file) or one written before builds recorded --instances: the
        # database's own build record still says whether it read instances.
        if instances is None and _recorded_instances(db):
            raise IdcQcError(f"{db} was built from instance files and its run manifest does not say which: pass "
                             "the same --instances again, or build without --select")
        return BuildScope(instances, whole_index)
    before = build.get("instances")
    before_whole = build.get("series_scope") == "index"
    note = None
    if instances is None and before is not None:
        instances = before
        note = (f"partial build: reading the same input as the build it updates ({before}; series scope "
                f"{build.get('series_scope')})")
    if (instances is None) != (before is None):
        raise IdcQcError(f"{db} was built from the IDC index alone; a partial build (--select) with --instances "
                         "would mix two inputs in one database: build without --select to change the input")
    if instances is not None:
        from ..instances import check_instances

        try:
            now = sorted(os.path.realpath(f) for f in check_instances(instances).files)
        except IdcQcError as exc:
            raise IdcQcError(f"a partial build (--select) reads the input of the build it updates ({instances}), "
                             f"which is no longer readable: {exc}") from None
        if now != files_before:
            raise IdcQcError(f"{db} was built from {len(files_before)} instance file(s) ({before}); this partial build "
                             f"(--select) would read {len(now)} other(s): build without --select to change the input")
        if whole_index and not before_whole:
            raise IdcQcError(f"{db} keeps only its input's series in `series`; a partial build (--select) with "
                             "--whole-index would mix scopes: build without --select to change it")
        whole_index = before_whole
    return BuildScope(instances, whole_index, note)


def _recorded_instances(db: Path) -> bool:
    """Whether the latest build recorded in ``db`` read instance files (not the index alone)."""
    import duckdb

    from .record import read_build_record

    try:
        with duckdb.connect(str(db), read_only=True) as con:
            record = read_build_record(con)
    except duckdb.Error:
        return False
    return bool(record is not None and record.instances)
