"""The output folder's record of what was read: the manifest, the file list and the errors table.

An ingest output folder holds::

    ingest_manifest.json   what ran: inputs, time, counts (found = read + skipped + failed)
    files.parquet          one row per file found: path, size, mtime_ns, status, part
    errors.parquet         one row per file skipped or failed, unreadable value, duplicate
                           SOPInstanceUID (every file holding it) and walk note
    instances/part-*.parquet   the instances (what ``idc-qc build --instances`` reads)
    frames/part-*.parquet      one row per frame of multi-frame instances (idc_qc/ingest/frames.py)

A rerun compares each file's path, size and modification time with files.parquet: the same
file is not read again, a changed one is read again and replaces its row, a file no longer
found is removed from the instances and reported. The manifest's ``fingerprint``
(:func:`fingerprint`) lets a rerun with nothing changed stop after the walk
(idc_qc/ingest/rerun.py).
"""

from __future__ import annotations

import json
import os
import time
from collections import namedtuple
from pathlib import Path

try:  # CPython's own BLAKE2 module: hashlib would load OpenSSL first, 4 ms of a 60 ms rerun
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - another Python
    from hashlib import blake2b

#: The manifest's name, declared by idc_qc/instances/files.py (a folder holding it is an ingest
#: output whose instances are in ``instances/``).
from ..instances.files import INGEST_MANIFEST as MANIFEST_NAME

FILES_NAME = "files.parquet"
ERRORS_NAME = "errors.parquet"
INSTANCES_DIR = "instances"
FRAMES_DIR = "frames"
GENERATOR = "idc_qc.ingest"

ERROR_COLUMNS = ("path", "kind", "reason", "attribute", "SOPInstanceUID")


#: One file of files.parquet: size, mtime_ns, status and part (None unless read). A tuple
#: (collections.namedtuple, as in idc_qc/ingest/files.py): one per file, compared on every rerun.
FileRecord = namedtuple("FileRecord", "size mtime_ns status part")


def is_ingest_output(folder: Path) -> bool:
    return (folder / MANIFEST_NAME).is_file()


def read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("generator") == GENERATOR else None


def read_files(folder: Path) -> dict[str, FileRecord]:
    import pyarrow.parquet as pq

    path = folder / FILES_NAME
    if not path.is_file():
        return {}
    table = pq.ParquetFile(path).read().to_pydict()
    return {p: FileRecord(s, m, st, part) for p, s, m, st, part in
            zip(table["path"], table["size"], table["mtime_ns"], table["status"], table["part"])}


def write_files(folder: Path, records: dict[str, FileRecord]) -> None:
    import pyarrow as pa

    paths = sorted(records)
    table = pa.table({
        "path": pa.array(paths, pa.string()),
        "size": pa.array([records[p].size for p in paths], pa.int64()),
        "mtime_ns": pa.array([records[p].mtime_ns for p in paths], pa.int64()),
        "status": pa.array([records[p].status for p in paths], pa.string()),
        "part": pa.array([records[p].part for p in paths], pa.string()),
    })
    _atomic_parquet(table, folder / FILES_NAME)


def read_errors(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    path = folder / ERRORS_NAME
    if not path.is_file():
        return []
    return pq.ParquetFile(path).read().to_pylist()


def write_errors(folder: Path, rows: list[dict]) -> None:
    import pyarrow as pa

    rows = sorted(rows, key=lambda r: (r["path"], r["kind"], r.get("attribute") or ""))
    table = pa.table({name: pa.array([r.get(name) for r in rows], pa.string()) for name in ERROR_COLUMNS})
    _atomic_parquet(table, folder / ERRORS_NAME)


def now() -> str:
    """The manifest's time stamps: UTC, to the second (2026-12-07T01:37:34+00:00)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def write_manifest(folder: Path, manifest: dict) -> dict:
    """Write the manifest (atomically); returns it as written."""
    path = folder / MANIFEST_NAME
    tmp = path.with_name(path.name + ".tmp")
    manifest = {"generator": GENERATOR, **manifest}
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return manifest


def fingerprint(paths: list[str], out: Path, collection: str | None, found: dict, notes: list) -> str:
    """A digest of everything a run of ``idc-qc ingest`` decides from: the inputs and collection,
    every file the walk found (path, size, modification time), the walk's notes, and the output
    folder's own tables and parts as they are now (name, size, modification time). Two runs with
    the same fingerprint read the same files into the same output: the second has nothing to do."""
    own = []
    for name in (FILES_NAME, ERRORS_NAME, INSTANCES_DIR, FRAMES_DIR):
        path = out / name
        if path.is_dir():
            with os.scandir(path) as entries:
                own += sorted((f"{name}/{e.name}", (st := e.stat()).st_size, st.st_mtime_ns) for e in entries)
        elif path.exists():
            st = path.stat()
            own.append((name, st.st_size, st.st_mtime_ns))
    digest = blake2b(json.dumps([1, [os.path.abspath(p) for p in paths], collection, notes, own]).encode())
    digest.update("\n".join(f"{path}\0{size}\0{mtime_ns}" for path, size, mtime_ns in found.values()).encode())
    return digest.hexdigest()


def _atomic_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
