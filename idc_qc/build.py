"""The build: check the input against the contract, then run dbt into a new file that
replaces the previous database only when the build succeeded (see workspace.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .instances import ContractReport, arrow_schema, check_instances, dbt_instances_var
from .dbt_runner import (BUILT_TYPES, DOCS_AFTER_BUILD_ENV, DbtRunResult, NodeCallback, Progress, ProgressCallback,
                         check_selection, dbt_vars, failure_error, list_selected, model_docs, parse_project, run_dbt)
from .errors import ChecksFailed
from .provenance import detect_input
from .database.record import BUILD_TABLE, BUILD_TABLE_DDL
from .warehouse import check_database_path
from .database.files import dbt_work_dir, staging_file
from .database.state import instances_argument, new_build_id, partial_build_scope, record_attempt
from .workspace import (BuildLock, Staging, discard_failed_build_output, pause_for_tests, remove_leftovers,
                        sigint_releases_pauses)


@dataclass
class BuildResult:
    db_path: Path
    instances: str | list[str]
    contract: ContractReport | None
    dbt: DbtRunResult
    build_id: str = ""
    status: str = "complete"
    planned: tuple[str, ...] = ()
    row_counts: dict[str, int] | None = None
    leftover: str | None = None
    release: int | None = None  # the IDC release whose index was read
    manifest: Path | None = None  # the run manifest written beside the database


def empty_instances_file(folder: Path) -> Path:
    """A zero-row parquet file with every contract column, for builds of the index alone."""
    import pyarrow.parquet as pq

    schema = arrow_schema()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "no_instances.parquet"
    pq.write_table(schema.empty_table(), path)
    return path


def _record_start(file: Path, build_id: str, instances: str | None, selection: str | None,
                  index_version: str | None = None) -> None:
    import duckdb

    from . import __version__
    from .paths import idc_index_version

    with duckdb.connect(str(file)) as con:
        con.execute(BUILD_TABLE_DDL)
        con.execute(
            f"insert into {BUILD_TABLE} (build_id, started_at, status, instances, selection, toolkit_version, "
            "idc_index_version) values (?, now(), 'building', ?, ?, ?, ?)",
            [build_id, instances, selection, __version__, index_version or idc_index_version()],
        )


def _write_comments(con, docs) -> None:
    """dbt's +persist_docs in one transaction: each relation's and its existing columns' descriptions."""
    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    existing: dict[str, dict[str, str]] = {}
    for table, column in con.execute("select table_name, column_name from duckdb_columns() "
                                     "where schema_name = 'main' and database_name = current_database()").fetchall():
        existing.setdefault(table.lower(), {})[column.lower()] = column
    statements = []
    for relation, kind, description, columns in docs:
        present = existing.get(relation.lower())
        if present is None:
            continue
        if description:
            statements.append(f'comment on {kind.lower()} "{relation}" is {quoted(description)}')
        for name, text in columns.items():
            column = present.get(name.lower())
            if column is not None:
                statements.append(f'comment on column "{relation}"."{column}" is {quoted(text)}')
    if statements:
        con.execute("begin transaction")
        con.execute(";\n".join(statements))
        con.execute("commit")


def _record_finish(file: Path, build_id: str, status: str, models: list[str], failed_tests: list[str],
                   docs: list[tuple[str, str, str, dict[str, str]]] = ()) -> dict[str, int]:
    """Mark the build finished, with the row count of every table, write the models' docs as
    comments (``docs``: dbt_runner.model_docs), and checkpoint the file."""
    import duckdb

    with duckdb.connect(str(file)) as con:
        _write_comments(con, docs)
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_type = 'BASE TABLE' and table_name <> ? order by 1", [BUILD_TABLE]).fetchall()]
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
        con.execute(
            f"update {BUILD_TABLE} set finished_at = now(), status = ?, models = ?, row_counts = ?, failed_tests = ? "
            "where build_id = ?",
            [status, json.dumps(sorted(models)), json.dumps(counts), json.dumps(failed_tests), build_id],
        )
        con.execute("checkpoint")
    return counts


def build(
    db_path: Path,
    instances: str | None = None,
    *,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    on_node: NodeCallback | None = None,
    on_progress: ProgressCallback | None = None,
    extra_vars: dict | None = None,
    whole_index: bool = False,
    release: int | str | None = None,
    clinical_dir: Path | None = None,
    idc_indices: Path | str | None = None,
) -> BuildResult:
    """Build the idc-qc models into the DuckDB file ``db_path``, atomically.

    Without ``instances`` only the index is read (an empty instance table stands in),
    which is how ``series`` is built over the full real IDC index. ``whole_index`` keeps
    every series of the index in ``series`` even when ``instances`` are given (dbt var
    ``series_scope``: ``index``; otherwise ``input``).

    The previous database is replaced only when every selected model was built; when
    data tests fail the new file is installed (so the failing rows can be inspected),
    marked ``checks_failed``, and ChecksFailed (exit 1) is raised with the result.
    A partial build (``select``/``exclude``) starts from a copy of the previous file and reads
    the same input as the build it updates (idc_qc.database.state.partial_build_scope): without
    ``instances`` it takes the previous build's again; other instances or another series scope
    are refused, so one database never mixes the whole index with an input's series.
    Clinical data comes from ``clinical_dir``, else $IDC_QC_CLINICAL_DIR, else the database's
    own store (``<db folder>/<db stem>.clinical``, written by ``idc-qc clinical add``) when
    there is one; the build says which in one notice. IDC's published volume_geometry_index is read
    from ``idc_indices`` (a folder or the parquet file; ``"none"``: none), else
    $IDC_QC_IDC_INDICES, else idc-index's data folder when it holds it (idc_qc/idc_published.py),
    and set beside our verdicts in ``series_geometry_vs_idc``; one notice says which.
    Ctrl-C (KeyboardInterrupt) and errors leave the previous database as it was.

    ``release`` (e.g. 20 or ``"v20"``) reads that IDC release's index (fetched into the cache
    by idc_qc.releases.cache) instead of the installed one; a database that holds another
    release's results is refused. Every build writes its run manifest beside the database
    (idc_qc/database/manifest.py) and records each attempt, failed ones too
    (``<stem>.attempt.json``, idc_qc/database/state.py).
    """
    from .build_inputs import BuildInputs
    from .database.manifest import guard_release, write_build_manifest

    db_path = Path(db_path)
    started = time.time()

    def emit(event: Progress) -> None:
        if on_progress is not None:
            on_progress(event)

    check_database_path(db_path, must_exist=False)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if select or exclude:
        scope = partial_build_scope(db_path, instances, whole_index)
        instances, whole_index = scope.instances, scope.whole_index
        if scope.note:
            emit(Progress("notice", text=scope.note))
    contract: ContractReport | None = None
    emit(Progress("stage", text="checking the input"))
    if instances is None:
        source = dbt_instances_var([str(empty_instances_file(db_path.resolve().parent))])
        absent: list[str] = []
    else:
        contract = check_instances(instances)
        source = dbt_instances_var(contract.files)  # exactly the files checked, each read literally
        absent = contract.absent_optional
    scope = "index" if whole_index or instances is None else "input"
    # Where the input came from (synthetic, dicom, index_only): kept in rpt_build_context so
    # that every summary, plot and page of a synthetic build says so (idc_qc/provenance.py).
    provenance = detect_input(None if contract is None else contract.files)
    inputs = BuildInputs.resolve(release, instances=None if instances is None else contract.files, on_progress=emit)
    guard_release(db_path, inputs.release)
    from .clinical import choose_store, clinical_dbt_vars

    chosen_store = choose_store(db_path, Path(clinical_dir) if clinical_dir else None)
    clinical = clinical_dbt_vars(chosen_store.store)
    emit(Progress("notice", text=chosen_store.line))
    from .idc_published import resolve_published

    published = resolve_published(idc_indices)
    emit(Progress("notice", text=published.line))
    vars = dbt_vars(instances=source, absent_columns=absent,
                    **{"series_scope": scope, **provenance.dbt_vars(), **inputs.dbt_vars, **clinical, **published.dbt_vars,
                       "instance_columns_extra": [] if contract is None else contract.extra_columns,
                       # instances in arbitrary order are written series by series before the
                       # per-series passes (int_instances__geometry_parsed); series-ordered ones are not
                       "instances_series_ordered": bool(contract and contract.series_ordered),
                       # an ingest output's frames table: its multi-frame objects judged frame by frame
                       # (int_instances__slices); left unset without one (the project default, none)
                       **({"frames": dbt_instances_var(contract.frame_files)} if contract and contract.frame_files else {}),
                       **(extra_vars or {})})
    selection = " ".join([*(select or []), *(f"--exclude {e}" for e in exclude or [])]) or None

    interrupts = sigint_releases_pauses()
    with interrupts, BuildLock(db_path) as lock:
        leftover = lock.leftover.describe() if lock.leftover else None
        if leftover:
            emit(Progress("notice", text=leftover))
        # Parse and check the selection first: a typo costs no copy of the previous database.
        emit(Progress("stage", text="loading dbt and parsing the project"))
        staged = staging_file(db_path)
        # dbt's target/ and logs/ stay beside the real database: they outlive the staging
        # folder (the log of a failed build) and keep dbt's partial parsing warm.
        work_dir = dbt_work_dir(db_path)
        build_id = new_build_id()
        record_attempt(db_path, build_id, "building", selection=selection)

        def ended_by_interrupt() -> None:  # when dbt does not stop after Ctrl-C (see sigint_releases_pauses)
            remove_leftovers(db_path)
            record_attempt(db_path, build_id, "interrupted", error="ended after Ctrl-C")
            lock.release()

        interrupts.on_force_end(ended_by_interrupt)
        try:
            manifest = parse_project(db_path=staged, vars=vars, work_dir=work_dir)
            check_selection(manifest, select, db_path=staged, vars=vars, work_dir=work_dir)
            planned = list_selected(manifest, select=select, exclude=exclude, resource_types=BUILT_TYPES,
                                    db_path=staged, vars=vars, work_dir=work_dir)
            if (select or exclude) and db_path.exists():
                emit(Progress("stage", text="copying the previous database (a partial build keeps the other tables)"))
            staging = Staging.create(db_path, start_from_previous=bool(select or exclude))
        except BaseException as exc:
            discard_failed_build_output(work_dir, exc)
            record_attempt(db_path, build_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                           error=str(exc) or type(exc).__name__)
            raise
        try:
            _record_start(staging.file, build_id, None if instances is None else source, selection,
                          index_version=inputs.index_version)
            pause_for_tests("before_dbt")
            emit(Progress("planned", names=tuple(planned)))
            emit(Progress("stage", text="building"))
            run = run_dbt("build", db_path=staging.file, vars=vars, select=select, exclude=exclude, on_node=on_node,
                          on_progress=on_progress, raise_on_failure=False, manifest=manifest, work_dir=work_dir,
                          env=DOCS_AFTER_BUILD_ENV)
            if run.errored or run.exception is not None or (not run.success and not run.failed_tests):
                raise failure_error("build", run)
            skipped = [n.name for n in run.nodes if n.resource_type in BUILT_TYPES and n.status == "skipped"]
            if run.failed_tests and skipped:
                # dbt skipped the models below a failing test: this build is not whole, keep the previous.
                error = failure_error("build", run)
                raise ChecksFailed(f"{error}; {len(skipped)} model(s) were skipped because of it "
                                   f"({', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''}); "
                                   "the previous database was kept")
            status = "checks_failed" if run.failed_tests else "complete"
            built = [n.name for n in run.nodes if n.resource_type in BUILT_TYPES and n.status == "success"]
            counts = _record_finish(staging.file, build_id, status, built, [n.name for n in run.failed_tests],
                                    docs=model_docs(manifest, built))
            pause_for_tests("before_install")
            staging.install()
        except BaseException as exc:
            staging.discard()
            discard_failed_build_output(work_dir, exc)
            record_attempt(db_path, build_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                           error=str(exc) or type(exc).__name__)
            raise
        record_attempt(db_path, build_id, status)
        result = BuildResult(db_path=db_path, instances=source, contract=contract, dbt=run, build_id=build_id,
                             status=status, planned=tuple(planned), row_counts=counts, leftover=leftover,
                             release=inputs.release)
        result.manifest = write_build_manifest(result, inputs, vars=vars, selection=selection, started=started,
                                               whole_index=whole_index, instances=instances_argument(instances))
    if run.failed_tests:
        error = failure_error("build", run)
        assert isinstance(error, ChecksFailed)
        error.result = result
        raise error
    return result
