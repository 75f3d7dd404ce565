"""Run dbt programmatically against the idc-qc project, with progress and typed results.

Every run gets its own target/log folder beside its database (``work_dir``, by default
``dbt/`` beside ``db_path``), so that builds into
different DuckDB files (tests, benchmarks, a user's two projects) never share state.
Progress goes to a callback as typed events; nothing here prints.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import BuildError, ChecksFailed, IdcQcError
from .paths import DEFAULT_BUILD_DIR, idc_index_dir, require_project_dir

os.environ.setdefault("DO_NOT_TRACK", "1")

#: Called once per finished node: (unique_id, status, seconds).
NodeCallback = Callable[[str, str, float], None]

#: Resource types a build writes into the database (what the progress counter counts).
BUILT_TYPES = ("model", "seed", "snapshot")

#: What ``dbt build`` leaves out when idc-qc builds. dbt's unit tests pin the SQL's logic on
#: fixed rows, not the user's data: the same answer on every build (8 of them were a quarter of
#: a 300-series build's dbt time). The test suite runs them (tests/dbt/test_unit_tests.py), as
#: dbt advises for production builds; ``run_dbt(..., unit_tests=True)`` keeps them.
EXCLUDED_FROM_BUILDS = ("unit_test",)


@dataclass(frozen=True)
class Progress:
    """One thing a build did, for whoever shows progress.

    kind: ``stage`` (text: what is happening now), ``notice`` (text: worth one line),
    ``planned`` (names: the models and seeds this build will write, in no order),
    ``started`` / ``finished`` (unique_id, and status and seconds when finished).
    """

    kind: str
    text: str = ""
    unique_id: str = ""
    status: str = ""
    seconds: float = 0.0
    names: tuple[str, ...] = ()


ProgressCallback = Callable[[Progress], None]


@dataclass
class NodeResult:
    unique_id: str
    status: str
    seconds: float
    message: str | None = None
    failures: int | None = None

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".")[0]

    @property
    def name(self) -> str:
        parts = self.unique_id.split(".")
        return parts[2] if len(parts) > 2 else self.unique_id


@dataclass
class DbtRunResult:
    command: list[str]
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    seconds: float = 0.0
    exception: BaseException | None = None  # what stopped dbt, if anything did

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in {"error", "fail", "runtime error"}]

    @property
    def errored(self) -> list[NodeResult]:
        """Nodes dbt could not run (compile or runtime errors): the tool failed."""
        return [n for n in self.nodes if n.status in {"error", "runtime error"}]

    @property
    def failed_tests(self) -> list[NodeResult]:
        """Data tests that ran and found failing rows: the checks failed."""
        return [n for n in self.nodes if n.status == "fail"]


def dbt_vars(instances: str | None = None, absent_columns: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The vars every DuckDB run needs: where the IDC index and the instance files are."""
    values: dict[str, Any] = {"idc_index_dir": str(idc_index_dir())}
    if instances is not None:
        values["instances"] = instances
    if absent_columns is not None:
        values["instance_columns_absent"] = list(absent_columns)
    values.update(extra)
    return values


#: Per-build values that reach dbt as environment variables ``IDC_QC_VAR_<name>`` (JSON), not
#: as --vars: dbt parses the whole project anew when any --vars value changes (about 15 s of
#: every build into a new folder or from a new input). The models read them with the macro
#: ``idc_qc.run_var`` and the sources name them in their meta (``run_var``, read by
#: ``idc_qc.source_files``): both read the environment only when a model runs, so a new value
#: re-parses nothing (macros/run_var.sql). A direct ``dbt run --vars`` still gives them as vars.
RUN_VARS = ("instances", "frames", "input_detail", "clinical_dir", "idc_index_dir", "idc_volume_geometry_index",
            # what the input has (its optional columns absent, its other columns, its kind) and the
            # clinical tables registered: data, read when the models run
            "instance_columns_absent", "instance_columns_extra", "input_kind", "clinical_tables")
RUN_VAR_PREFIX = "IDC_QC_VAR_"


def _split_vars(vars: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str | None]]:
    """(the --vars, the environment): every RUN_VARS name is set when given and unset when not,
    so that no value of an earlier run in this process is read."""
    given = vars or {}
    env = {RUN_VAR_PREFIX + name: json.dumps(given[name]) if name in given else None for name in RUN_VARS}
    return {k: v for k, v in given.items() if k not in RUN_VARS}, env


def split_selectors(select: list[str] | None) -> list[str]:
    """dbt's union syntax: ``-s "+a +b" -s c`` selects three things."""
    return [token for item in select or [] for token in shlex.split(item)]


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


#: What the engine does with what does not fit in its memory, said when a build fills the disk.
SPILL_HINT = ("the engine spills what does not fit in its memory limit (IDC_QC_MEMORY_LIMIT, 6GB by default) "
              "to a .tmp folder beside the database being built: free disk there, or raise the limit")


def _node_error(message: object) -> str:
    """One line for a node dbt could not build: the engine's own error under dbt's "Runtime Error
    in model ..." heading (that heading alone names the model twice and says nothing of why),
    with what to do when the disk filled."""
    lines = [line.strip() for line in str(message or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[1] if len(lines) > 1 and lines[0].startswith(("Runtime Error in ", "Database Error in ")) else lines[0]
    if "No space left on device" in str(message):
        line = f"{line} ({SPILL_HINT})"
    return line


def _release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open in-process, so others can open it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    env = DuckDBConnectionManager._ENV
    if env is None:  # nothing opened (parse, ls): no collection to wait for (0.1 s each)
        DuckDBConnectionManager.close_all_connections()
        return
    try:
        env.close()
    except Exception:  # noqa: BLE001 - closing is best effort; dropping the reference below suffices
        pass
    DuckDBConnectionManager._ENV = None  # the next dbt command opens a new one
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def _work_dir(db_path: Path | None) -> Path:
    # beside the database (or under ./build), never in the project folder: it may be a
    # read-only copy inside site-packages
    from .database.files import dbt_work_dir

    return dbt_work_dir(db_path if db_path else DEFAULT_BUILD_DIR.resolve() / "any.duckdb")


def _base_args(command: str, db_path: Path | None, target: str, vars: dict[str, Any] | None,
               work_dir: Path | None = None) -> list[str]:
    work_dir = work_dir or _work_dir(db_path)
    work_dir.mkdir(parents=True, exist_ok=True)
    project_dir = require_project_dir()
    args = [
        command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target", target,
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        # dbt's own terminal output stays off (its Ctrl-C traceback, its per-node lines): progress
        # comes from the callbacks, errors from the results; the full log is in logs/dbt.log.
        "--quiet", "--log-level", "none",
    ]
    cli_vars, _ = _split_vars(vars)
    if cli_vars:
        args += ["--vars", json.dumps(cli_vars)]
    return args


def _invoke(args: list[str], *, db_path: Path | None, env: dict[str, str] | None, callbacks: list, manifest=None,
            vars: dict[str, Any] | None = None):
    """dbtRunner.invoke with IDC_QC_DB pointing at ``db_path`` and the RUN_VARS of ``vars`` in the
    environment (``args`` carry the others); Ctrl-C comes back as KeyboardInterrupt."""
    from dbt.cli.main import dbtRunner

    from .workspace import release_pauses

    env = {**(env or {}), **_split_vars(vars)[1]}
    saved = {k: os.environ.get(k) for k in ["IDC_QC_DB", *env]}
    if db_path is not None:
        os.environ["IDC_QC_DB"] = str(db_path.resolve())
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        outcome = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(args)
    finally:
        _release_duckdb()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    # dbtRunner turns every exception, Ctrl-C included, into a result: give Ctrl-C back.
    if isinstance(outcome.exception, KeyboardInterrupt):
        release_pauses()
        raise KeyboardInterrupt
    return outcome


def parse_project(*, db_path: Path | None, target: str = "duckdb", vars: dict[str, Any] | None = None,
                  env: dict[str, str] | None = None, work_dir: Path | None = None):
    """Parse the dbt project once; the manifest is reused by the selection check and the build.

    dbt re-parses only what changed when its target folder holds the previous parse
    (``partial_parse.msgpack``); a new database folder has none, so the last parse made with the
    same project, dbt, target, database name, vars and environment is kept in the cache
    (:func:`_parse_cache_slot`) and put there first. dbt checks it as it checks its own (every
    project file's checksum, the vars, the environment the project reads) and parses anew on
    any difference: a warm parse takes about a third of a full one. The RUN_VARS are not in the
    key: they are read when the models run, not parsed."""
    work_dir = work_dir or _work_dir(db_path)
    own = work_dir / "target" / PARTIAL_PARSE_FILE
    slot = _parse_cache_slot(db_path, target, _split_vars(vars)[0], env)
    _copy_quietly(slot, own, only_if_missing=True)
    # dbt counts the profile's values (the DuckDB path) in its check, yet parsing opens no
    # database: parse as if for a file of the same name (the catalog's) in the cache folder,
    # so that every folder's builds share one parse; the build runs on the real path.
    parsed_as = slot.parent / "as" / Path(db_path).name if db_path else None
    # --no-write-json: manifest.json is written by the command that runs next (1.4 s saved)
    outcome = _invoke(_base_args("parse", db_path, target, vars, work_dir) + ["--no-write-json"], db_path=parsed_as,
                      env=env, callbacks=[], vars=vars)
    if not outcome.success:
        raise IdcQcError(f"dbt could not parse the project: {_first_line(outcome.exception) or 'see the dbt log'}")
    _copy_quietly(own, slot)
    return outcome.result


#: dbt's saved parse, in its target folder.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def _parse_cache_slot(db_path: Path | None, target: str, vars: dict[str, Any] | None,
                      env: dict[str, str] | None) -> Path:
    """``<cache>/dbt-parse/<key>.msgpack``: one slot per project folder, dbt version, target,
    database name (dbt-duckdb names the catalog after the file), vars and extra environment."""
    import hashlib

    from dbt.version import __version__

    from .paths import cache_dir

    key = json.dumps([str(require_project_dir()), __version__, target, Path(db_path).stem if db_path else "",
                      vars or {}, sorted((env or {}).items())], sort_keys=True, default=str)
    return cache_dir() / "dbt-parse" / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".msgpack")


def _copy_quietly(source: Path, dest: Path, *, only_if_missing: bool = False) -> None:
    """Copy ``source`` over ``dest`` by a rename (readers never see half a file); a cache that
    cannot be read or written costs only speed, so an OSError is ignored."""
    import shutil

    from .database.atomic import atomic_path

    if not source.is_file() or (only_if_missing and dest.exists()):
        return
    try:
        with atomic_path(dest) as partial:
            shutil.copyfile(source, partial)
    except OSError:
        pass


def list_selected(manifest, *, select: list[str] | None, exclude: list[str] | None = None,
                  resource_types: tuple[str, ...] = (), db_path: Path | None = None, target: str = "duckdb",
                  vars: dict[str, Any] | None = None, work_dir: Path | None = None,
                  env: dict[str, str] | None = None) -> list[str]:
    """Names of the nodes a selection picks (``dbt ls`` on an already parsed manifest, or on a
    parse of its own with ``manifest=None``; ``env`` as the target's profile needs it)."""
    # ls prints its result unless --log-level is none (set in _base_args).
    args = _base_args("ls", db_path, target, vars, work_dir) + ["--output", "name"]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    if resource_types:
        args += ["--resource-type", *resource_types]
    outcome = _invoke(args, db_path=db_path, env=env, callbacks=[], manifest=manifest, vars=vars)
    if not outcome.success:
        raise IdcQcError(f"--select {' '.join(select or [])}: {_first_line(outcome.exception) or 'not a valid selection'}")
    return list(outcome.result or [])


#: A selector that is a node name with dbt's graph operators around it, and nothing else.
_NAMED = re.compile(r"(@|\d*\+)?[A-Za-z_][A-Za-z0-9_]*(\+\d*)?")
_OPERATORS = re.compile(r"^(@|\d*\+)|\+\d*$")


def check_selection(manifest, select: list[str] | None, **kwargs: Any) -> None:
    """Each selector must match something: a typo is an error, not a successful no-op."""
    import difflib

    names = sorted({n.name for n in manifest.nodes.values() if n.resource_type in BUILT_TYPES})
    for selector in split_selectors(select):
        # a node's name with graph operators (+x, x+, 2+x, @x) selects at least that node: no
        # `dbt ls` needed (each costs about a third of a second); any other selector asks dbt
        if _NAMED.fullmatch(selector) and _OPERATORS.sub("", selector) in names:
            continue
        if list_selected(manifest, select=[selector], **kwargs):
            continue
        bare = selector.strip("+@").split("+")[-1]
        close = difflib.get_close_matches(bare, names, n=1)
        public = [n for n in names if not n.startswith(("stg_", "int_"))]
        hint = f"; did you mean {close[0]!r}?" if close else f"; the tables are {', '.join(public)} (and their stg_/int_ parents)"
        raise IdcQcError(f"no model matches {selector!r}{hint}")


#: Set for idc-qc's builds on DuckDB: dbt leaves the comments to :func:`model_docs` (macros/cross_db/persist_docs.sql).
DOCS_AFTER_BUILD_ENV = {"IDC_QC_DOCS_AFTER_BUILD": "1"}


def model_docs(manifest, names: list[str]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(relation, TABLE or VIEW, description, {column: description}) of the project's models among
    ``names`` that dbt materialized: what +persist_docs writes as comments, from the parsed manifest."""
    wanted, docs = set(names), []
    for node in manifest.nodes.values():
        if str(getattr(node.resource_type, "value", node.resource_type)) != "model" or node.name not in wanted:
            continue
        materialized = node.config.materialized
        if materialized not in ("table", "view", "incremental"):
            continue
        columns = {name: column.description for name, column in node.columns.items() if column.description}
        docs.append((node.alias or node.name, "VIEW" if materialized == "view" else "TABLE", node.description or "",
                     columns))
    return docs


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
    on_progress: ProgressCallback | None = None,
    env: dict[str, str] | None = None,
    raise_on_failure: bool = True,
    manifest=None,
    work_dir: Path | None = None,
    unit_tests: bool = False,
) -> DbtRunResult:
    """Invoke ``dbt <command>`` in-process and return one typed result per node.

    ``dbt build`` leaves out :data:`EXCLUDED_FROM_BUILDS` (dbt's unit tests) unless ``unit_tests``.

    With ``select``, tests run only when all the models they test are selected
    (``--indirect-selection cautious``): ``--select +series_geometry`` must not run the
    relationships test of ``instance_geometry``, which it did not build.
    """
    from .workspace import pause_for_tests

    args = _base_args(command, db_path, target, vars, work_dir)
    if select:
        args += ["--select", *split_selectors(select)]
        if command in {"build", "test"}:
            args += ["--indirect-selection", "cautious"]
    if exclude:
        args += ["--exclude", *split_selectors(exclude)]
    if command == "build" and not unit_tests:
        args += ["--exclude-resource-type", *EXCLUDED_FROM_BUILDS]
    args += extra_args or []

    from .workspace import interrupted

    def emit(event: Progress) -> None:
        if on_progress is None or interrupted.is_set():
            return
        try:
            on_progress(event)
        except Exception:  # a display bug must never fail the build itself (logged, so not blind)
            logging.getLogger(__name__).exception("progress callback failed")

    def callback(event: Any) -> None:
        name = event.info.name
        if name == "NodeStart":
            unique_id = event.data.node_info.unique_id
            emit(Progress("started", unique_id=unique_id))
            pause_for_tests(unique_id.split(".")[-1])
        elif name == "NodeFinished":
            result = event.data.run_result
            unique_id = event.data.node_info.unique_id
            seconds = float(result.execution_time or 0.0)
            emit(Progress("finished", unique_id=unique_id, status=str(result.status), seconds=seconds))
            if on_node is not None:
                try:
                    on_node(unique_id, result.status, seconds)
                except Exception:  # as above: logged, never fails the build
                    logging.getLogger(__name__).exception("progress callback failed")

    start = time.perf_counter()
    outcome = _invoke(args, db_path=db_path, env=env, callbacks=[callback], manifest=manifest, vars=vars)

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
    run = DbtRunResult(command=args, success=bool(outcome.success), nodes=nodes, seconds=time.perf_counter() - start,
                       exception=outcome.exception)
    if raise_on_failure and not outcome.success:
        raise failure_error(command, run, outcome.exception)
    return run


def failure_error(command: str, run: DbtRunResult, exception: BaseException | None = None) -> BuildError:
    """One line for a failed dbt run: exit 2 when dbt could not build, 1 when only data tests failed."""
    exception = exception or run.exception
    if exception is not None:
        return BuildError(f"dbt {command} could not run: {_first_line(exception) or type(exception).__name__}")
    if run.errored:
        first = run.errored[0]
        return BuildError(f"dbt {command}: {len(run.errored)} node(s) could not be built; "
                          f"first: {first.name}: {_node_error(first.message) or first.status}")
    if run.failed_tests:
        first = run.failed_tests[0]
        return ChecksFailed(f"{len(run.failed_tests)} data test(s) failed; first: {first.name}: "
                            f"{_first_line(first.message) or 'failing rows'}")
    return BuildError(f"dbt {command} did not succeed; see logs/dbt.log in the dbt folder beside the database")
