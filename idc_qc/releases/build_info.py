"""What a build reads (which release's index, which files) and the run manifest it leaves.

idc_qc.build calls :meth:`BuildInputs.resolve` before dbt runs and :func:`write_build_manifest`
once the new database is installed; :func:`guard_release` keeps one release's results from
being overwritten by another's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import IdcQcError
from .manifest import engine_versions, git_revision, input_entry, project_vars, read_manifest, write_manifest

#: Where `idc-qc build --release N` (without --db) and `idc-qc release run` put release N.
RELEASES_DIR = Path("build") / "releases"
DB_NAME = "idc_qc.duckdb"


def release_db(release: int, root: Path | None = None) -> Path:
    """``build/releases/v<N>/idc_qc.duckdb``: one folder per release, never shared."""
    return Path(root or RELEASES_DIR) / f"v{int(release)}" / DB_NAME


@dataclass
class BuildInputs:
    """The index a build reads and the files behind it."""

    release: int
    index_version: str  # the idc-index-data version
    index_dir: Path
    index_source: str  # installed | cache | downloaded | wheel | parquet
    dbt_vars: dict[str, Any]
    tables_absent: dict[str, str] = field(default_factory=dict)
    columns_absent: tuple[str, ...] = ()
    instance_files: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @classmethod
    def resolve(cls, release: int | str | None, *, instances: list[str] | None = None,
                on_progress: Callable[[Any], None] | None = None) -> "BuildInputs":
        from ..dbt_runner import Progress
        from ..paths import idc_index_dir, idc_index_version
        from .cache import fetch_release, index_shape, index_vars

        def stage(text: str) -> None:
            if on_progress is not None:
                on_progress(Progress("stage", text=f"release index: {text}"))

        if release is None:
            folder, version, source = idc_index_dir(), idc_index_version(), "installed"
            number = int(version.split(".")[0])
            notices: list[str] = []
        else:
            cached = fetch_release(release, on_stage=stage)
            folder, version, source, number = cached.folder, cached.version, cached.source, cached.release
            notices = list(cached.notices)
        shape = index_shape(folder)
        return cls(release=number, index_version=version, index_dir=Path(folder), index_source=source,
                   dbt_vars=index_vars(folder, number), tables_absent=dict(shape.tables_absent),
                   columns_absent=shape.columns_absent, instance_files=list(instances or []), notices=notices)

    def index_files(self) -> list[Path]:
        from .cache import AUX_TABLES, INDEX_FILE

        names = [INDEX_FILE, *(f"{t}.parquet" for t in AUX_TABLES if t not in self.tables_absent)]
        return [self.index_dir / n for n in names if (self.index_dir / n).is_file()]


def guard_release(db: Path, release: int) -> None:
    """Refuse to build release ``release`` into a database that holds another release's results."""
    manifest = read_manifest(db) if Path(db).exists() else None
    held = ((manifest or {}).get("idc") or {}).get("release")
    if held is not None and int(held) != int(release):
        raise IdcQcError(
            f"{db} holds the results of IDC release v{held}; a build of v{release} would overwrite them: "
            f"build it into its own folder ({release_db(release)}, the default of --release) or name another --db")


def write_build_manifest(result: Any, inputs: BuildInputs, *, vars: dict[str, Any], selection: str | None,
                         started: float, whole_index: bool) -> Path:
    """The run manifest beside ``result.db_path``: what made this database, replacing the last one."""
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
        "build": {"build_id": result.build_id, "status": result.status, "selection": selection,
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
