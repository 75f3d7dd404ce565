"""Run dbt programmatically against the idc-qc project, with progress and typed results.

Every run gets its own target/log folder beside its database, so that builds into
different DuckDB files (tests, benchmarks, a user's two projects) never share state.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import BuildError, IdcQcError
from .paths import DEFAULT_BUILD_DIR, idc_index_dir, require_project_dir

os.environ.setdefault("DO_NOT_TRACK", "1")

#: Called once per finished node: (unique_id, status, seconds).
NodeCallback = Callable[[str, str, float], None]


@dataclass
class NodeResult:
    unique_id: str
    status: str
    seconds: float
    message: str | None = None
    failures: int | None = None


@dataclass
class DbtRunResult:
    command: list[str]
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in {"error", "fail", "runtime error"}]


def dbt_vars(instances: str | None = None, absent_columns: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The vars every DuckDB run needs: where the IDC index and the instance files are."""
    values: dict[str, Any] = {"idc_index_dir": str(idc_index_dir())}
    if instances is not None:
        values["instances"] = instances
    if absent_columns is not None:
        values["instance_columns_absent"] = list(absent_columns)
    values.update(extra)
    return values


def _release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open in-process, so others can open it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        try:
            env.close()
        except Exception:  # noqa: BLE001 - closing is best effort; dropping the reference below suffices
            pass
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def run_dbt(
    command: str,
    *,
    db_path: Path | None = None,
    target: str = "duckdb",
    vars: dict[str, Any] | None = None,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    extra_args: list[str] | None = None,
    on_node: NodeCallback | None = None,
    env: dict[str, str] | None = None,
    raise_on_failure: bool = True,
) -> DbtRunResult:
    """Invoke ``dbt <command>`` in-process and return one typed result per node."""
    from dbt.cli.main import dbtRunner

    project_dir = require_project_dir()
    # dbt's target and logs go beside the database (or under ./build), never into the project folder,
    # which may be a read-only copy inside site-packages.
    work_dir = (db_path.resolve().parent if db_path else DEFAULT_BUILD_DIR.resolve()) / "dbt"
    work_dir.mkdir(parents=True, exist_ok=True)
    args = [
        command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target", target,
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--quiet",
    ]
    if vars:
        args += ["--vars", json.dumps(vars)]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    args += extra_args or []

    saved = {k: os.environ.get(k) for k in ["IDC_QC_DB", *(env or {})]}
    if db_path is not None:
        os.environ["IDC_QC_DB"] = str(db_path.resolve())
    os.environ.update(env or {})

    def callback(event: Any) -> None:
        if on_node is None or event.info.name != "NodeFinished":
            return
        result = event.data.run_result
        try:
            on_node(event.data.node_info.unique_id, result.status, float(result.execution_time or 0.0))
        except Exception:  # noqa: BLE001 - a display bug must never fail the build itself
            logging.getLogger(__name__).exception("progress callback failed")

    start = time.perf_counter()
    try:
        outcome = dbtRunner(callbacks=[callback]).invoke(args)
    finally:
        _release_duckdb()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    nodes: list[NodeResult] = []
    results = getattr(outcome.result, "results", None) or []
    for r in results:
        nodes.append(
            NodeResult(
                unique_id=r.node.unique_id,
                status=str(r.status),
                seconds=float(r.execution_time or 0.0),
                message=r.message,
                failures=r.failures,
            )
        )
    run = DbtRunResult(command=args, success=bool(outcome.success), nodes=nodes, seconds=time.perf_counter() - start)
    if raise_on_failure and not outcome.success:
        if outcome.exception is not None:
            raise IdcQcError(f"dbt {command} could not run: {str(outcome.exception).strip().splitlines()[0]}")
        first = run.failed[0] if run.failed else None
        detail = f"{first.unique_id}: {(first.message or '').strip().splitlines()[0] if first.message else first.status}" if first else "see the dbt log"
        raise BuildError(f"dbt {command} finished with {len(run.failed)} failing node(s); first: {detail}")
    return run
