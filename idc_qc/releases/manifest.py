"""The run manifest: one JSON file beside a built database, saying what made it.

For ``build/idc_qc.duckdb`` it is ``build/idc_qc.manifest.json``. The build writes it (toolkit
and engine versions, IDC release, inputs with checksums, row counts, timings); ``idc-qc check``
adds its validation summary under ``"validation"``; reports and exports name it. Sections are
merged, never lost: each writer updates its own top-level keys with :func:`update_manifest`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(db: Path) -> Path:
    """``build/idc_qc.duckdb`` -> ``build/idc_qc.manifest.json``."""
    db = Path(db)
    return db.with_name(db.stem + MANIFEST_SUFFIX)


def read_manifest(db: Path) -> dict[str, Any] | None:
    """The manifest beside ``db``, or None when there is none (or it is not JSON)."""
    path = manifest_path(db)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def update_manifest(db: Path, **sections: Any) -> Path:
    """Set top-level ``sections`` in the manifest beside ``db`` (created if absent); atomic."""
    path = manifest_path(db)
    current = read_manifest(db) or {}
    current.update(sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(current, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
