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
found is removed from the instances and reported.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple
from pathlib import Path

#: The manifest's name, declared by idc_qc/instances/files.py (a folder holding it is an ingest
#: output whose instances are in ``instances/``).
from ..instances.files import INGEST_MANIFEST as MANIFEST_NAME

FILES_NAME = "files.parquet"
ERRORS_NAME = "errors.parquet"
INSTANCES_DIR = "instances"
FRAMES_DIR = "frames"
GENERATOR = "idc_qc.ingest"

ERROR_COLUMNS = ("path", "kind", "reason", "attribute", "SOPInstanceUID")


class FileRecord(NamedTuple):  # a tuple: one per file, read and compared on every rerun
    size: int
    mtime_ns: int
    status: str
    part: str | None


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


def write_manifest(folder: Path, manifest: dict) -> Path:
    path = folder / MANIFEST_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"generator": GENERATOR, **manifest}, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


def _atomic_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
