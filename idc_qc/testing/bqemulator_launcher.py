"""Start bqemulator offline: run by the *emulator's* venv python, not by idc-qc's.

    .venv-bqemu/bin/python idc_qc/testing/bqemulator_launcher.py --rest-port 9050

bqemulator 1.4.0 insists on ``INSTALL spatial`` at startup (for GEOGRAPHY) and tries
``INSTALL avro`` (for Avro loads). Both download from extensions.duckdb.org, which a CI
runner without internet cannot reach, and there is no setting to skip the first one. idc-qc
uses neither GEOGRAPHY nor Avro, so this launcher patches the engine at runtime:

* ``DuckDBEngine._load_spatial`` becomes best-effort (``LOAD spatial`` if the extension is
  already on disk, otherwise a logged skip);
* ``BQEMU_ENABLE_FORMAT_EXTENSIONS=false`` skips Avro;
* DuckDB's extension auto-install is switched off so no query blocks on a download;
* result column names keep their case, as on BigQuery (see ``_patch_identifier_case``);
* dbt's contract DDL ``create table x (columns) as (select ...)`` is accepted
  (see ``_patch_contract_ctas``);
* ARRAY columns stay arrays in the translator's type annotation
  (see ``_patch_repeated_column_types``).

The file imports nothing from idc_qc (that package is not installed in the emulator venv)
and is executed by path. It prints one line ``BQEMULATOR_READY <rest_port>`` on stdout once
the REST API answers, which is what the test fixture waits for.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import urllib.request


def _patch_engine() -> None:
    from bqemulator.storage import engine as engine_module

    original_start = engine_module.DuckDBEngine.start

    def load_spatial_if_present(self) -> None:  # type: ignore[no-untyped-def]
        try:
            self._connection.execute("LOAD spatial")
        except Exception as exc:  # noqa: BLE001 - absent offline, and idc-qc needs no GEOGRAPHY
            print(f"bqemulator_launcher: spatial extension not loaded ({str(exc).splitlines()[0]})", file=sys.stderr)

    async def start_without_downloads(self) -> None:  # type: ignore[no-untyped-def]
        await original_start(self)
        if self._connection is not None:
            for setting in ("autoinstall_known_extensions", "autoload_known_extensions"):
                try:
                    self._connection.execute(f"SET {setting} = false")
                except Exception:  # noqa: BLE001 - older DuckDB builds
                    pass

    engine_module.DuckDBEngine._load_spatial = load_spatial_if_present
    engine_module.DuckDBEngine.start = start_without_downloads


def _patch_identifier_case() -> None:
    """Keep column-name case, as BigQuery does.

    When a query reads catalog tables, bqemulator 1.4.0 runs sqlglot's ``qualify`` with
    the DuckDB dialect (case-insensitive: every identifier lowercased) and, if any of its
    rewrite rules fires, emits that qualified tree, so the result columns of e.g.
    ``select joined.SeriesInstanceUID from joined`` come back as ``seriesinstanceuid``.
    Real BigQuery preserves the case an identifier was written in, and dbt's contract
    check compares those names. The patch runs the same passes with a DuckDB dialect
    whose identifiers are case-sensitive; DuckDB itself still binds them
    case-insensitively, so only the spelling of the output names changes.
    """
    from sqlglot.dialects.dialect import NormalizationStrategy
    from sqlglot.dialects.duckdb import DuckDB

    from bqemulator.sql import translator

    class CaseKeepingDuckDB(DuckDB):
        NORMALIZATION_STRATEGY = NormalizationStrategy.CASE_SENSITIVE

    original_qualify = translator.qualify
    original_annotate = translator.annotate_types

    def qualify(tree, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["dialect"] = CaseKeepingDuckDB
        return original_qualify(tree, **kwargs)

    def annotate_types(tree, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("dialect", CaseKeepingDuckDB)
        return original_annotate(tree, **kwargs)

    translator.qualify = qualify
    translator.annotate_types = annotate_types


def _patch_contract_ctas() -> None:
    """Accept dbt's ``create table x (columns) as ( select ... )`` (enforced contracts).

    bqemulator rewrites BigQuery's CREATE TABLE with a column list AS SELECT into a bare
    CTAS for DuckDB, but only when the body is a bare SELECT or UNION; dbt-bigquery wraps
    the body in parentheses, which sqlglot parses as a Subquery, so the rewrite is skipped
    and DuckDB rejects the statement. The patch lets the rewrite look inside the
    parentheses (the contract's column types are still applied as casts).
    """
    from sqlglot import exp

    from bqemulator.sql.rewriter import create_table_schema_ctas as ctas

    original_first_select = ctas._first_select

    def first_select(body):  # type: ignore[no-untyped-def]
        while isinstance(body, (exp.Subquery, exp.Paren)):
            body = body.this
        return original_first_select(body)

    ctas._first_select = first_select


def _patch_repeated_column_types() -> None:
    """Type REPEATED catalog columns as arrays for the translator's type annotation.

    bqemulator 1.4.0 builds the schema that sqlglot annotates queries with from the
    catalog, but drops each field's mode, so an ARRAY<STRING> column is typed STRING.
    When any rewrite rule then fires (e.g. ``'|' || x`` for CONCAT typing), sqlglot
    re-emits ``arr[SAFE_OFFSET(0)]`` with string-indexing semantics and the element
    comes back NULL. BigQuery knows the column is an array; so does this patch.
    """
    import sqlglot
    from sqlglot import exp

    from bqemulator.domain.errors import NotFoundError
    from bqemulator.sql import catalog_schema, inner_query

    def build_catalog_schema(bq_sql, *, project_id, catalog):  # type: ignore[no-untyped-def]
        try:
            tree = sqlglot.parse_one(bq_sql, read="bigquery")
        except sqlglot.errors.ParseError:
            return {}
        schema: dict[str, dict[str, str]] = {}
        for table in tree.find_all(exp.Table):
            resolved = catalog_schema._resolve_table_ref(table, project_id=project_id)
            if resolved is None:
                continue
            try:
                meta = catalog.get_table(*resolved)
            except NotFoundError:
                continue
            if meta is None:
                continue
            columns: dict[str, str] = {}
            for field in meta.schema_.fields:
                duckdb_type = catalog_schema._safe_bq_to_duckdb(field.type)
                if duckdb_type is None:
                    continue
                if str(field.mode).upper().endswith("REPEATED"):
                    duckdb_type = f"{duckdb_type}[]"
                columns[field.name] = duckdb_type
            if columns:
                schema[resolved[2]] = columns
        return schema

    catalog_schema.build_catalog_schema = build_catalog_schema
    inner_query.build_catalog_schema = build_catalog_schema


def _announce_when_ready(host: str, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{host}:{port}/bigquery/v2/projects/_probe/datasets"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                pass
        except urllib.error.HTTPError:
            pass  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.1)
            continue
        print(f"BQEMULATOR_READY {port}", flush=True)
        return
    print("BQEMULATOR_TIMEOUT", flush=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rest-port", type=int, default=0, help="0 picks a free loopback port")
    parser.add_argument("--grpc-port", type=int, default=0, help="0 picks a free loopback port")
    parser.add_argument("--project", default="test-project")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    os.environ.setdefault("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")
    os.environ.setdefault("BQEMU_METRICS_ENABLED", "false")
    rest_port = args.rest_port or free_port(args.host)
    grpc_port = args.grpc_port or free_port(args.host)

    _patch_engine()
    _patch_identifier_case()
    _patch_contract_ctas()
    _patch_repeated_column_types()
    from bqemulator.config import LogFormat, LogLevel, PersistenceMode, Settings
    from bqemulator.server import run_forever

    settings = Settings(
        rest_host=args.host,
        rest_port=rest_port,
        grpc_host=args.host,
        grpc_port=grpc_port,
        default_project_id=args.project,
        persistence_mode=PersistenceMode.EPHEMERAL,
        log_level=LogLevel(args.log_level),
        log_format=LogFormat.CONSOLE,
    )
    threading.Thread(target=_announce_when_ready, args=(args.host, rest_port), daemon=True).start()
    run_forever(settings)


if __name__ == "__main__":
    main()
