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


def output_mode() -> int:
    """The mode of a new ordinary file under the process umask (0644 under the usual 022).

    Outputs are written to a temporary file and renamed; ``mkstemp`` creates it 0600, so the
    writers set this mode before the rename: a manifest, a results JSON or a report is read
    by whoever reads the database, as a plain ``open(..., "w")`` would have allowed."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


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
        os.chmod(tmp, output_mode())  # mkstemp makes it private; a manifest is read by whoever reads the results
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------------------------------------
# The build's sections (written by idc_qc.build after a build is installed)
# ---------------------------------------------------------------------------------------------

#: Input files larger than this are recorded with size and mtime only: hashing a 40 GB
#: instance export would cost more than the build. Index files are always hashed.
HASH_LIMIT_BYTES = 2 << 30


def write_manifest(db: Path, manifest: dict[str, Any]) -> Path:
    """Replace the manifest beside ``db`` (a new build makes the old validation stale)."""
    path = manifest_path(db)
    if path.exists():
        path.unlink()
    return update_manifest(db, **manifest)


def git_revision(folder: Path) -> dict[str, Any] | None:
    """The commit (and whether the tree had changes) of the checkout ``folder`` is in, if any."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def engine_versions() -> dict[str, str]:
    """dbt-core, the adapter, DuckDB and Python versions of this process."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("dbt-core", "dbt-duckdb", "duckdb", "dbt-bigquery", "great-expectations"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def input_entry(path: Path, *, always_hash: bool = False) -> dict[str, Any]:
    from .cache import sha256_file

    path = Path(path)
    stat = path.stat()
    entry: dict[str, Any] = {"path": str(path.resolve()), "size": stat.st_size}
    if always_hash or stat.st_size <= HASH_LIMIT_BYTES:
        entry["sha256"] = sha256_file(path)
    else:
        entry["sha256"] = None
        entry["mtime"] = stat.st_mtime
        entry["note"] = f"not hashed: larger than {HASH_LIMIT_BYTES >> 30} GiB"
    return entry


def project_vars(project_dir: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """The dbt vars a build ran with: dbt_project.yml's literal values, then the build's own.

    Tolerances and thresholds (``relative_slice_tolerance`` ...) are the reason to record
    them; values that are Jinja (environment lookups) are shown as the build resolved them.
    """
    import yaml

    try:
        declared = (yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text()) or {}).get("vars", {}) or {}
    except (OSError, yaml.YAMLError):
        declared = {}
    values = {k: v for k, v in declared.items() if not (isinstance(v, str) and "{{" in v)}
    values.update(overrides)
    return values
