"""BigQuery support: load the series index, and price a build with dry-run jobs first.

The dbt models are the same on every engine; this module only does the two things that
have no DuckDB counterpart:

* :func:`load_index_tables` copies the installed idc-index-data parquet files (which are
  not in ``bigquery-public-data``) into the dataset named by the dbt var
  ``idc_index_bigquery_dataset``, so the ``idc_index`` sources resolve on BigQuery.
* :func:`dry_run` compiles every model for a BigQuery target and submits each compiled
  statement as a dry-run query job, which BigQuery validates and prices without running
  or billing it. Models read other models that do not exist before the first build, so by
  default each model's upstream models are inlined as subqueries and its upstream seeds
  as literal rows: the dry run then prices what the model would scan from the sources, as
  BigQuery itself expands views when a table is built. See docs/bigquery.md for limits.

google-cloud-bigquery is imported inside the functions so that importing this module
(e.g. by the CLI for ``--help``) stays cheap.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .errors import IdcQcError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from google.cloud import bigquery

#: The idc-index-data tables the ``idc_index`` dbt sources read.
INDEX_TABLES: tuple[str, ...] = (
    "idc_index",
    "collections_index",
    "prior_versions_index",
    "version_metadata_index",
    "analysis_results_index",
)

#: Materializations that scan (and bill) their inputs when built. Views cost nothing to
#: create; their scans are billed to the tables and tests that read them.
BILLED_MATERIALIZATIONS = frozenset({"table", "incremental", "materialized_view"})


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------


def make_client(
    project: str,
    *,
    location: str | None = None,
    keyfile: str | Path | None = None,
    api_endpoint: str | None = None,
    anonymous: bool = False,
) -> "bigquery.Client":
    """A BigQuery client for ``project``.

    Parameters
    ----------
    project
        Project that runs (and would pay for) the jobs.
    location
        Job location, e.g. ``US`` (IDC's public datasets live in the US multi-region).
    keyfile
        Service-account key file; without it, application-default credentials are used.
    api_endpoint
        Another REST endpoint, e.g. a local bqemulator (``http://127.0.0.1:9050``).
    anonymous
        Send no credentials (only an emulator accepts that).
    """
    from google.cloud import bigquery

    credentials: Any = None
    if anonymous:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    elif keyfile:
        from google.oauth2 import service_account

        credentials = service_account.Credentials.from_service_account_file(str(keyfile))
    client_options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return bigquery.Client(project=project, location=location, credentials=credentials, client_options=client_options)


# --------------------------------------------------------------------------------------
# Loading the series index
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedTable:
    """One index table after its load job: ``project.dataset.table`` and its row count."""

    table_id: str
    rows: int
    source: Path


def _dataset_ref(client: "bigquery.Client", dataset: str) -> tuple[str, str]:
    parts = dataset.split(".")
    if len(parts) == 1:
        return client.project, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise IdcQcError(f"dataset must be 'dataset' or 'project.dataset', got {dataset!r}")


def _bq_field(arrow_field: Any) -> "bigquery.SchemaField":
    import pyarrow as pa
    from google.cloud import bigquery

    arrow_type, mode = arrow_field.type, "NULLABLE"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        arrow_type, mode = arrow_type.value_type, "REPEATED"
    if pa.types.is_struct(arrow_type):
        children = tuple(_bq_field(arrow_type.field(i)) for i in range(arrow_type.num_fields))
        return bigquery.SchemaField(arrow_field.name, "RECORD", mode=mode, fields=children)
    simple = [
        (pa.types.is_boolean, "BOOL"),
        (pa.types.is_integer, "INT64"),
        (pa.types.is_floating, "FLOAT64"),
        (pa.types.is_decimal, "NUMERIC"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "STRING"),
        (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), "BYTES"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_timestamp, "TIMESTAMP"),
        (pa.types.is_time, "TIME"),
    ]
    for test, bq_type in simple:
        if test(arrow_type):
            return bigquery.SchemaField(arrow_field.name, bq_type, mode=mode)
    raise IdcQcError(f"column {arrow_field.name!r} has type {arrow_type}, which has no BigQuery equivalent here")


def bigquery_schema_for_parquet(path: Path) -> list["bigquery.SchemaField"]:
    """The BigQuery schema of a parquet file: lists become REPEATED, structs RECORD.

    Given explicitly to load jobs so the table's types do not depend on BigQuery's
    parquet schema inference (and because bqemulator requires a schema for a new table).
    """
    import pyarrow.parquet as pq

    return [_bq_field(f) for f in pq.read_schema(path)]


def load_parquet(
    client: "bigquery.Client",
    path: Path,
    table_id: str,
) -> int:
    """Replace ``table_id`` with the rows of one local parquet file; the row count."""
    from google.cloud import bigquery

    parquet_options = bigquery.ParquetOptions()
    parquet_options.enable_list_inference = True
    job_config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        schema=bigquery_schema_for_parquet(path),
    )
    job_config.parquet_options = parquet_options
    with Path(path).open("rb") as handle:
        job = client.load_table_from_file(handle, table_id, job_config=job_config)
    try:
        job.result()
    except Exception as exc:  # google.api_core errors carry the reason in str()
        raise IdcQcError(f"loading {Path(path).name} into {table_id} failed: {exc}") from exc
    return int(client.get_table(table_id).num_rows or 0)


def load_index_tables(
    client: "bigquery.Client",
    dataset: str,
    *,
    source_dir: Path | None = None,
    tables: Sequence[str] = INDEX_TABLES,
    location: str | None = None,
) -> list[LoadedTable]:
    """Load the idc-index-data parquet files into ``dataset`` (one table each, replaced).

    Parameters
    ----------
    client
        Client of the project that owns ``dataset``.
    dataset
        ``dataset`` or ``project.dataset``; the dbt var ``idc_index_bigquery_dataset``
        must name the same dataset. Created when missing.
    source_dir
        Folder holding ``<table>.parquet``; defaults to the installed idc-index-data.
    tables
        Which index tables to load.
    location
        Location of a dataset created here; defaults to the client's location.

    Load jobs from a local file are free on BigQuery (only storage is billed, ~100 MB).
    Repeated fields are loaded as ARRAY columns (parquet list inference on), so the
    tables have the same shape as the parquet files DuckDB reads.
    """
    from google.cloud import bigquery

    from .paths import idc_index_dir

    folder = Path(source_dir) if source_dir is not None else idc_index_dir()
    project, dataset_id = _dataset_ref(client, dataset)
    ds = bigquery.Dataset(f"{project}.{dataset_id}")
    ds.location = location or client.location or "US"
    client.create_dataset(ds, exists_ok=True)

    loaded: list[LoadedTable] = []
    for name in tables:
        path = folder / f"{name}.parquet"
        if not path.exists():
            raise IdcQcError(f"index table {name!r} has no parquet file at {path}")
        table_id = f"{project}.{dataset_id}.{name}"
        rows = load_parquet(client, path, table_id)
        loaded.append(LoadedTable(table_id=table_id, rows=rows, source=path))
    return loaded


# --------------------------------------------------------------------------------------
# Compiling
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledModel:
    """One model of the manifest, compiled for a BigQuery target."""

    unique_id: str
    name: str
    relation_name: str
    materialized: str
    sql: str
    #: unique_ids of the models, seeds and sources this model reads.
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledSeed:
    """A seed as the dry run inlines it: its relation, column types and CSV rows."""

    unique_id: str
    relation_name: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[str | None, ...], ...]


@dataclass
class CompiledProject:
    """The compiled models (in DAG order) and the seeds they may read."""

    models: dict[str, CompiledModel] = field(default_factory=dict)
    seeds: dict[str, CompiledSeed] = field(default_factory=dict)
    manifest_path: Path | None = None


def compile_models(
    *,
    target: str = "bigquery",
    vars: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    select: list[str] | None = None,
    work_dir: Path | None = None,
) -> CompiledProject:
    """``dbt compile --no-populate-cache`` for a BigQuery target; the models it compiled.

    No query is sent: without ``--no-populate-cache`` dbt lists the target datasets
    first, which needs a reachable BigQuery. ``env`` is applied during the run (e.g.
    ``IDC_QC_BQ_KEYFILE``, ``IDC_QC_BQ_PROJECT``).
    """
    return _compile_models(target=target, vars=vars, env=env, select=select, work_dir=work_dir)[0]


def _compile_models(*, target: str, vars: Mapping[str, Any] | None, env: Mapping[str, str] | None,
                    select: list[str] | None, work_dir: Path | None) -> tuple[CompiledProject, Any]:
    """:func:`compile_models`, and the parsed manifest it compiled (for a selection on it)."""
    from .dbt_runner import parse_project, run_dbt

    db_path = (Path(work_dir) if work_dir else Path("build") / "bigquery") / "compile.placeholder"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # the parse through the parse cache (parse_project): a compile into a new folder with the
    # same target, vars and environment as an earlier one parses warm
    manifest = parse_project(db_path=db_path, target=target, vars=dict(vars or {}), env=dict(env or {}))
    run_dbt(
        "compile",
        db_path=db_path,
        target=target,
        vars=dict(vars or {}),
        select=select,
        extra_args=["--no-populate-cache"],
        env=dict(env or {}),
        manifest=manifest,
    )
    from .database.files import dbt_work_dir

    manifest_path = dbt_work_dir(db_path) / "target" / "manifest.json"
    return read_compiled_manifest(manifest_path, only=None), manifest


def read_compiled_manifest(manifest_path: Path, only: Iterable[str] | None = None) -> CompiledProject:
    """Models (with compiled SQL, in dependency order) and seeds of a compiled manifest."""
    manifest = json.loads(Path(manifest_path).read_text())
    nodes: dict[str, Any] = manifest["nodes"]
    wanted = set(only) if only is not None else None
    project_name = manifest["metadata"].get("project_name", "idc_qc")

    models: dict[str, CompiledModel] = {}
    for uid, node in nodes.items():
        if node.get("resource_type") != "model" or node.get("package_name") != project_name:
            continue
        if wanted is not None and uid not in wanted and node["name"] not in wanted:
            continue
        sql = node.get("compiled_code")
        if not sql:
            continue  # not selected in this compile
        models[uid] = CompiledModel(
            unique_id=uid,
            name=node["name"],
            relation_name=node.get("relation_name") or "",
            materialized=node.get("config", {}).get("materialized", "view"),
            sql=sql,
            depends_on=tuple(node.get("depends_on", {}).get("nodes", [])),
        )

    seeds: dict[str, CompiledSeed] = {}
    from .paths import PROJECT_DIR

    for uid, node in nodes.items():
        if node.get("resource_type") != "seed":
            continue
        path = PROJECT_DIR / node["original_file_path"]
        if not path.is_file():
            continue
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = tuple(tuple(value if value != "" else None for value in row) for row in reader)
        types = node.get("config", {}).get("column_types") or {}
        columns = tuple((name, str(types.get(name, "string"))) for name in header)
        seeds[uid] = CompiledSeed(unique_id=uid, relation_name=node.get("relation_name") or "", columns=columns, rows=rows)

    return CompiledProject(models=_in_dag_order(models), seeds=seeds, manifest_path=Path(manifest_path))


def _in_dag_order(models: dict[str, CompiledModel]) -> dict[str, CompiledModel]:
    ordered: dict[str, CompiledModel] = {}

    def visit(uid: str, stack: tuple[str, ...] = ()) -> None:
        if uid in ordered or uid not in models or uid in stack:
            return
        for parent in models[uid].depends_on:
            visit(parent, (*stack, uid))
        ordered[uid] = models[uid]

    for uid in sorted(models):
        visit(uid)
    return ordered


# --------------------------------------------------------------------------------------
# Inlining upstream relations
# --------------------------------------------------------------------------------------


def _sql_literal(value: str | None, bq_type: str) -> str:
    if value is None:
        return f"cast(null as {bq_type})"
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"cast('{escaped}' as {bq_type})"


def seed_as_select(seed: CompiledSeed) -> str:
    """A seed's rows as a BigQuery ``select`` of literals (no table needed).

    One ``select ... union all`` branch per row: plain enough for every BigQuery-dialect
    engine (bqemulator cannot unnest a typed struct-array literal).
    """
    if not seed.rows:
        nulls = ", ".join(f"cast(null as {t}) as `{n}`" for n, t in seed.columns)
        return f"select {nulls} from unnest([1]) where false"
    branches = [
        "select " + ", ".join(f"{_sql_literal(v, t)} as `{n}`" for v, (n, t) in zip(row, seed.columns))
        for row in seed.rows
    ]
    return "\nunion all ".join(branches)


def _strip_trailing_semicolon(sql: str) -> str:
    return re.sub(r";\s*$", "", sql.strip())


def inline_upstream(model: CompiledModel, project: CompiledProject) -> tuple[str, tuple[str, ...]]:
    """The model's SQL with every upstream model and seed defined once, as a CTE before it.

    Returns the statement and the unique_ids that were inlined. Sources stay as table
    references: they are what the dry run prices. Each upstream node is written once however
    many of the nodes below read it (a subquery per reference repeated shared parents: the
    statement of rpt_geometry_failures grew to 0.74 MB, near BigQuery's 1 MB query limit,
    and the emulator took 20 minutes over all models).
    """
    order: list[str] = []  # upstream nodes, each after the nodes it reads

    def relation_of(uid: str) -> str | None:
        if uid in project.models:
            return project.models[uid].relation_name or None
        if uid in project.seeds:
            return project.seeds[uid].relation_name or None
        return None

    def visit(uid: str) -> None:
        for parent in project.models[uid].depends_on if uid in project.models else ():
            if parent in order or relation_of(parent) is None:
                continue
            visit(parent)
            if parent not in order:
                order.append(parent)

    visit(model.unique_id)

    def cte_name(uid: str) -> str:
        return "inlined__" + re.sub(r"[^A-Za-z0-9_]", "_", uid.split(".", 1)[-1])

    def body(uid: str) -> str:
        """The node's SQL reading its upstream nodes by their CTE names."""
        if uid in project.seeds:
            return seed_as_select(project.seeds[uid])
        sql = _strip_trailing_semicolon(project.models[uid].sql)
        for parent in project.models[uid].depends_on:
            relation = relation_of(parent)
            if relation and parent in order:
                sql = sql.replace(relation, cte_name(parent))
        return sql

    used = [uid for uid in order if relation_of(uid) in _strip_trailing_semicolon(
        "\n".join([model.sql, *(project.models[u].sql for u in order if u in project.models)]))]
    if not used:
        return model.sql, ()
    ctes = ",\n".join(f"{cte_name(uid)} as (\n{body(uid)}\n)" for uid in used)
    return f"with {ctes}\nselect * from (\n{body(model.unique_id)}\n)", tuple(used)


# --------------------------------------------------------------------------------------
# Dry runs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunResult:
    """What BigQuery said about one model's statement, before anything ran."""

    unique_id: str
    name: str
    materialized: str
    #: Bytes the statement would scan (BigQuery's ``totalBytesProcessed``); None on error.
    bytes_processed: int | None
    #: Upstream models and seeds substituted into the statement (see :func:`inline_upstream`).
    inlined: tuple[str, ...] = ()
    error: str | None = None
    #: Column names of the result, as BigQuery resolved them.
    schema: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def billed_on_build(self) -> bool:
        """True when building the model runs (and bills) this scan: tables, not views."""
        return self.materialized in BILLED_MATERIALIZATIONS


@dataclass
class DryRunReport:
    """Per-model dry-run results and the totals a user decides on."""

    results: list[DryRunResult]
    maximum_bytes_billed: int | None = None

    @property
    def failed(self) -> list[DryRunResult]:
        return [r for r in self.results if not r.ok]

    @property
    def bytes_billed_on_build(self) -> int:
        """Sum over the models whose build scans its inputs (tables); views are free."""
        return sum(r.bytes_processed or 0 for r in self.results if r.billed_on_build)

    @property
    def over_limit(self) -> list[DryRunResult]:
        """Models whose scan exceeds ``maximum_bytes_billed`` (they would fail, not bill)."""
        if self.maximum_bytes_billed is None:
            return []
        return [r for r in self.results if (r.bytes_processed or 0) > self.maximum_bytes_billed]


def dry_run_statement(client: "bigquery.Client", sql: str) -> tuple[int, tuple[str, ...]]:
    """Submit one dry-run query job; (totalBytesProcessed, result column names)."""
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
    job = client.query(sql, job_config=config)
    schema = tuple(f.name for f in (job.schema or []))
    return int(job.total_bytes_processed or 0), schema


def dry_run_models(
    client: "bigquery.Client",
    project: CompiledProject,
    *,
    inline: bool = True,
    maximum_bytes_billed: int | None = None,
    only: Iterable[str] | None = None,
) -> DryRunReport:
    """Dry-run every compiled model (in DAG order), or those of ``only`` (names or unique ids;
    their upstream is still inlined); errors are reported, not raised."""
    wanted = set(only) if only is not None else None
    results: list[DryRunResult] = []
    for model in project.models.values():
        if wanted is not None and model.unique_id not in wanted and model.name not in wanted:
            continue
        sql, inlined = inline_upstream(model, project) if inline else (model.sql, ())
        try:
            scanned, schema = dry_run_statement(client, sql)
        except Exception as exc:  # noqa: BLE001 - a model error is a result; the caller decides
            message = getattr(exc, "message", None) or str(exc)
            results.append(
                DryRunResult(model.unique_id, model.name, model.materialized, None, inlined, message.strip().splitlines()[0])
            )
            continue
        results.append(DryRunResult(model.unique_id, model.name, model.materialized, scanned, inlined, None, schema))
    return DryRunReport(results=results, maximum_bytes_billed=maximum_bytes_billed)


def dry_run(
    client: "bigquery.Client",
    *,
    target: str = "bigquery",
    vars: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    select: list[str] | None = None,
    work_dir: Path | None = None,
    inline: bool = True,
    maximum_bytes_billed: int | None = None,
) -> DryRunReport:
    """Compile the models for ``target``, then dry-run each one on ``client``.

    Parameters
    ----------
    client
        Client of the project that would run the build (see :func:`make_client`).
    target, vars, env, work_dir
        Passed to :func:`compile_models`.
    select
        dbt selectors: only the models they pick are dry-run (every model is compiled, so
        that their upstream can be inlined).
    inline
        Substitute upstream models and seeds into each statement, so a model can be
        priced before the models it reads exist. With ``inline=False`` each statement is
        sent as compiled and a model whose inputs are not built yet reports an error.
    maximum_bytes_billed
        The profile's cost guard; the report lists the models that would exceed it.

    Returns
    -------
    DryRunReport
        One :class:`DryRunResult` per model; nothing has been run or billed.
    """
    # Every model is compiled, not only the selection: a selected model's statement inlines its
    # upstream models, whose SQL dbt writes only for the models it compiled.
    compiled, manifest = _compile_models(target=target, vars=vars, env=env, select=None, work_dir=work_dir)
    only = None
    if select:
        from .dbt_runner import list_selected

        # selected on the manifest just compiled: no second parse
        only = list_selected(manifest, select=select, resource_types=("model",), target=target, vars=dict(vars or {}),
                             env=dict(env or {}), work_dir=compiled.manifest_path.parent.parent)
    return dry_run_models(client, compiled, inline=inline, maximum_bytes_billed=maximum_bytes_billed, only=only)


def format_bytes(n: int | None) -> str:
    """``1.2 GB`` style (powers of 1000, as BigQuery's console shows bytes)."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover
