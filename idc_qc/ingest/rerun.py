"""A rerun of ``idc-qc ingest`` with nothing changed, answered from the manifest.

:func:`idc_qc.ingest.run.ingest` ends by writing a fingerprint into the manifest
(:func:`idc_qc.ingest.manifest.fingerprint`: the inputs and collection, every file the walk
found with its size and modification time, the walk's notes, and the output folder's own tables
and parts). A rerun whose walk gives the same fingerprint would read no file, drop no row and
write the same tables: :func:`rerun_if_unchanged` only updates the manifest's time and counts.

The command calls it before importing Typer, Rich, Arrow or pydicom (idc_qc/cli/ingest_rerun.py),
so that such a rerun costs the interpreter's start-up and one walk: this module imports only the
walk and the manifest.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import manifest as mf
from .files import walk_inputs


def rerun_if_unchanged(paths: list[str], out: str | os.PathLike, *, collection: str | None = None,
                       workers: int | None = None) -> dict | None:
    """The manifest of a rerun into ``out`` when nothing changed since the last run (written, and
    returned as written); None when anything differs (a file, a part, an option) or the folder
    has no fingerprint: then run :func:`idc_qc.ingest.run.ingest`."""
    started = time.perf_counter()
    out = Path(out).absolute()
    manifest = mf.read_manifest(out)
    if not manifest or not manifest.get("fingerprint") or not paths or not all(os.path.lexists(p) for p in paths):
        return None
    found, notes = walk_inputs(paths, str(out))
    if mf.fingerprint(paths, out, collection, found, notes) != manifest["fingerprint"]:
        return None
    del manifest["generator"]
    return mf.write_manifest(out, {
        **manifest,
        "finished": mf.now(),
        "workers": max(1, workers or os.cpu_count() or 1),
        "seconds": round(time.perf_counter() - started, 3),
        "counts": {**manifest["counts"], "new": 0, "changed": 0, "unchanged": len(found), "removed": 0},
        "removed": [],
    })
