"""No output lands on an input: the check every ``-o``/``--out`` goes through.

An output path is refused (one line, exit 2) when it is, or resolves to, one of the files a
database is made of or from: the database itself, a file beside it that idc-qc owns (manifest,
attempt, validation, failures, lock, WAL), anything in its staging folder, dbt's work folder or
its clinical store, and the warehouse's input files (the index and instance files the run
manifest lists). The report's own page and CSV are outputs, so they may be rewritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import IdcQcError
from .files import (attempt_path, clinical_store, dbt_work_dir, failures_path, lock_path, manifest_path, staging_dir,
                    validation_path, wal_path)


class OutputOnInput(IdcQcError):
    """An output path names one of the database's inputs or its own files."""


def _real(path: Path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def protected_paths(db: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(files, folders): real path -> what it is, for ``db``."""
    from .manifest import read_manifest

    db = Path(db)
    files = {_real(db): "the database"}
    for path, what in ((manifest_path(db), "its run manifest"), (attempt_path(db), "its build attempt record"),
                       (validation_path(db), "its check results"), (failures_path(db), "its failing-series file"),
                       (lock_path(db), "its build lock"), (wal_path(db), "its write-ahead log")):
        files[_real(path)] = what
    folders = {_real(staging_dir(db)): "inside its staging folder", _real(dbt_work_dir(db)): "inside dbt's work folder"}
    folders[_real(clinical_store(db))] = "inside its clinical store"
    manifest = read_manifest(db) or {}
    inputs = manifest.get("inputs") or {}
    for entry in inputs.get("index") or []:
        files[_real(entry["path"])] = "an input file of the build (IDC index)"
    for entry in inputs.get("instances") or []:
        files[_real(entry["path"])] = "an input file of the build (instances)"
    return files, folders


def refuse_output_on_input(out: Path | None, db: Path | None, *, option: str = "-o",
                           suffixes: tuple[str, ...] = ()) -> None:
    """Raise OutputOnInput (one line) when ``out`` would overwrite an input or a file of ``db``;
    with ``suffixes`` (e.g. ``(".html",)``) also when its name does not end in one of them."""
    if out is None or (db is not None and not Path(db).exists()):
        return  # no database: the command's own "no database at ..." is the one line to show
    if suffixes and Path(out).suffix.lower() not in suffixes:
        raise OutputOnInput(f"{option} {out}: the file name must end in {' or '.join(suffixes)}, "
                            f"e.g. {Path(out).with_suffix(suffixes[0]).name}")
    real = _real(Path(out))
    if db is not None:
        files, folders = protected_paths(Path(db))
        what = files.get(real)
        if what is None:
            what = next((w for folder, w in folders.items() if real == folder or real.startswith(folder + os.sep)),
                        None)
        if what is None and Path(out).exists():
            what = next((w for f, w in files.items() if os.path.exists(f) and os.path.samefile(f, real)), None)
        if what is not None:
            raise OutputOnInput(f"{option} {out} is {what} ({db}); writing there would destroy it: "
                                "choose another output file")
