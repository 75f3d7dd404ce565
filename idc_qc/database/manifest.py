"""The run manifest: one JSON file beside a built database, saying what made it.

For ``build/idc_qc.duckdb`` it is ``build/idc_qc.manifest.json`` (:func:`.files.manifest_path`).
The build writes it (:func:`write_build_manifest`: build id, toolkit and engine versions, IDC
release, inputs with checksums, row counts, timings); ``idc-qc check`` adds its validation
summary under ``"validation"`` (with the build id it validated); reports and exports name it.
Sections are merged, never lost: each writer updates its own top-level keys with
:func:`update_manifest`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import IdcQcError
from .atomic import sha256_file, write_json
from .files import manifest_path, release_db

#: Input files larger than this are recorded with size and mtime only: hashing a 40 GB
#: instance export would cost more than the build. Index files are always hashed.
HASH_LIMIT_BYTES = 2 << 30


def read_manifest(db: Path) -> dict[str, Any] | None:
    """The manifest beside ``db``, or None when there is none (or it is not JSON)."""
    try:
        data = json.loads(manifest_path(db).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def update_manifest(db: Path, **sections: Any) -> Path:
    """Set top-level ``sections`` in the manifest beside ``db`` (created if absent); atomic."""
    current = read_manifest(db) or {}
    current.update(sections)
    return write_json(manifest_path(db), current)


def write_manifest(db: Path, manifest: dict[str, Any]) -> Path:
    """Replace the manifest beside ``db`` (a new build makes the old validation stale)."""
    return write_json(manifest_path(db), manifest)


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


def guard_release(db: Path, release: int) -> None:
    """Refuse to build release ``release`` into a database that holds another release's results."""
    manifest = read_manifest(db) if Path(db).exists() else None
    held = ((manifest or {}).get("idc") or {}).get("release")
    if held is not None and int(held) != int(release):
        raise IdcQcError(
            f"{db} holds the results of IDC release v{held}; a build of v{release} would overwrite them: "
            f"build it into its own folder ({release_db(release)}, the default of --release) or name another --db")


def write_build_manifest(result: Any, inputs: Any, *, vars: dict[str, Any], selection: str | None,
                         started: float, whole_index: bool, instances: str | None = None) -> Path:
    """The run manifest beside ``result.db_path`` (an idc_qc.build.BuildResult; ``inputs`` its
    idc_qc.build_inputs.BuildInputs): what made this database, replacing the last one.

    ``instances`` is ``--instances`` as given (absolute): a later partial build reads it again."""
    from .. import __version__
    from ..paths import PROJECT_DIR

    db = Path(result.db_path)
    finished = time.time()
    dbt_run = result.dbt
    model_seconds = {n.name: round(n.seconds, 3) for n in dbt_run.nodes if n.resource_type in ("model", "seed")}
    manifest = {
        "manifest_version": 1,
        "database": str(db.resolve()),
        "toolkit": {"name": "idc-qc", "version": __version__, "project_dir": str(PROJECT_DIR),
                    "git": git_revision(PROJECT_DIR)},
        "build": {"build_id": result.build_id, "status": result.status, "selection": selection, "instances": instances,
                  "whole_index": whole_index, "series_scope": vars.get("series_scope"),
                  "started_at": _iso(started), "finished_at": _iso(finished),
                  "failed_tests": [n.name for n in dbt_run.failed_tests]},
        "idc": {"release": inputs.release, "idc_index_data_version": inputs.index_version,
                "index_source": inputs.index_source, "index_dir": str(inputs.index_dir),
                "columns_absent": list(inputs.columns_absent),
                "tables_absent": inputs.tables_absent,
                "absent_means": "typed NULL columns / empty staging relations (docs/releases.md)"},
        "engine": {"target": "duckdb", **engine_versions()},
        "vars": project_vars(PROJECT_DIR, _plain(vars)),
        "inputs": {"index": [input_entry(p, always_hash=True) for p in inputs.index_files()],
                   "instances": [input_entry(Path(p)) for p in inputs.instance_files]},
        "row_counts": dict(sorted((result.row_counts or {}).items())),
        "timings": {"total_seconds": round(finished - started, 3), "dbt_seconds": round(dbt_run.seconds, 3),
                    "models": dict(sorted(model_seconds.items(), key=lambda kv: -kv[1]))},
    }
    return write_manifest(db, manifest)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Vars as recorded: the instance var can be a long SQL list of files (listed under inputs)."""
    out = dict(values)
    if isinstance(out.get("instances"), str) and len(out["instances"]) > 300:
        out["instances"] = out["instances"][:300] + " ..."
    return out


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds")
