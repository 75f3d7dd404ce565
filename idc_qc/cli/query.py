"""`idc-qc query`: SQL on the local warehouse (DuckDB SQL, or IDC's BigQuery SQL), read-only."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import IdcQcError
from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


class Dialect(str, Enum):
    duckdb = "duckdb"
    bigquery = "bigquery"


def _read_sql(sql: Optional[str], file: Optional[Path]) -> str:
    if sql and file:
        raise IdcQcError("give the query as an argument or with -f FILE, not both")
    if file is not None:
        try:
            raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        except OSError as exc:
            raise IdcQcError(f"cannot read {file}: {exc.strerror or exc}") from None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IdcQcError(f"{'stdin' if str(file) == '-' else file} is not UTF-8 text (byte {raw[exc.start]:#04x} at "
                             f"offset {exc.start}); save the query as UTF-8 and run it again") from None
    if not sql:
        raise IdcQcError('no query: idc-qc query "select ..." or idc-qc query -f FILE.sql (or --tables)')
    return sql


def _cell(value) -> str:
    if value is None:
        return "[dim]NULL[/]"
    text = str(value)
    return escape(text if len(text) <= 80 else text[:77] + "...")


def _print_tables(db: Path) -> None:
    import textwrap

    from ..query.run import list_tables

    kind = None
    for relation in list_tables(db):
        if relation.kind != kind:
            kind = relation.kind
            typer.echo(f"\n== {kind} ==")
        also = f"   (IDC: {', '.join(relation.idc_names)})" if relation.idc_names else ""
        typer.echo(f"{relation.name}{also}   [{len(relation.columns)} columns]")
        if relation.grain:
            typer.echo(textwrap.fill(f"grain: {relation.grain}", 100, initial_indent="    ", subsequent_indent="      "))
        if relation.description:
            text = relation.description if len(relation.description) <= 400 else relation.description[:397] + "..."
            typer.echo(textwrap.fill(text, 100, initial_indent="    ", subsequent_indent="    "))
    console.print("\nIDC's names work with --dialect bigquery (dicom_all and the *_index tables in DuckDB SQL too); "
                  "`DESCRIBE <table>` lists a table's columns.")


def _print_columns(db: Path, names: list[str]) -> None:
    import textwrap

    from ..query.run import table_columns

    for relation, columns in table_columns(db, names):
        also = f"   (IDC: {', '.join(relation.idc_names)})" if relation.idc_names else ""
        typer.echo(f"{relation.name}{also}   [{len(columns)} columns]")
        if relation.grain:
            typer.echo(textwrap.fill(f"grain: {relation.grain}", 100, initial_indent="    ", subsequent_indent="      "))
        width = max((len(c) for c, _t, _d in columns), default=0)
        kinds = max((len(t) for _c, t, _d in columns), default=0)
        for column, data_type, description in columns:
            line = f"  {column:<{width}}  {data_type:<{kinds}}  {description}".rstrip()
            typer.echo(textwrap.fill(line, 120, subsequent_indent=" " * (width + kinds + 6)))
        typer.echo("")


def query(
    sql: Annotated[Optional[str], typer.Argument(help="The query (one SELECT / WITH / EXPLAIN).", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Read the query from FILE.sql ('-' for stdin).")] = None,
    dialect: Annotated[Dialect, typer.Option("--dialect", "-d", help="duckdb: run as is; bigquery: IDC's BigQuery SQL, transpiled.")] = Dialect.duckdb,
    explain: Annotated[bool, typer.Option("--explain", help="Print the SQL that would run (and the fixes applied); run nothing.")] = False,
    tables: Annotated[bool, typer.Option("--tables", help="List what can be queried, with grain and description; "
                                                          "`--tables NAME` lists NAME's columns, types and descriptions.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the whole result to .csv, .parquet or .json (one object a line).")] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", min=0, help="Rows shown on the terminal (all rows go to -o).")] = 50,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Ask the local warehouse in SQL: plain DuckDB SQL, or IDC's BigQuery SQL unchanged.

    Read-only and contained: a statement that would create, change, attach, copy, install or
    load anything is refused before it runs, and the query's connection cannot read other
    files or reach the network. IDC's names work: `bigquery-public-data.idc_current.dicom_all`
    (the instance input), `idc_vNN.idc_index` (the index), and every built table by its name.

    Examples:

      idc-qc query "select geometry_category, count(*) from series_geometry group by all"

      idc-qc query --dialect bigquery -f ct_index.sql -o ct_index.parquet

      idc-qc query --tables

      idc-qc query --tables rpt_geometry_failures
    """
    import time

    from ..query.run import explain as explain_sql
    from ..query.run import check_output, run_query, write_result

    if tables:
        if sql:
            _print_columns(db, sql.split())
        else:
            _print_tables(db)
        return
    text = _read_sql(sql, file)
    if explain:
        transpiled = explain_sql(db, text, dialect=dialect.value)
        for warning in transpiled.warnings:
            console.print(f"[yellow]Warning:[/] {escape(warning)}")
        for fix in transpiled.fixes:
            console.print(f"[dim]-- {escape(fix)}[/]")
        if dialect is Dialect.bigquery:
            import sqlglot

            typer.echo(sqlglot.transpile(transpiled.sql, read="duckdb", write="duckdb", pretty=True)[0])
        else:
            typer.echo(transpiled.sql)
        return
    if out is not None:
        from ..database.guard import refuse_output_on_input

        refuse_output_on_input(out, db)
        check_output(out)
    started = time.perf_counter()
    result = run_query(db, text, dialect=dialect.value, progress=sys.stdout.isatty() and out is None)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    note = _coverage_note(db, result)
    if note:
        console.print(f"[yellow]Note:[/] {escape(note)}")
    summary = f"{result.rows:,} row{'s' if result.rows != 1 else ''} in {result.seconds:.2f} s"
    if out is not None:
        write_result(result.table, out)
        console.print(f"{summary}; wrote [bold]{escape(str(out))}[/] ({time.perf_counter() - started:.1f} s in all)")
        return
    _show(result, max_rows)
    shown = min(result.rows, max_rows)
    more = f" (showing {shown}; -o FILE writes all)" if result.rows > shown else ""
    console.print(f"{summary}{more}")


def _coverage_note(db: Path, result) -> str | None:
    """How much of IDC the answer stands on, when the query read IDC's dicom_all name: the local
    instance input holds a sample, not IDC's every series."""
    from ..query.catalog import INSTANCE_RELATION
    from ..query.run import contained

    if INSTANCE_RELATION not in set(result.transpiled.tables.values()):
        return None
    with contained(db) as (con, catalog, _warnings):
        names = catalog.names()
        local = con.execute("select max(series_in_scope) from rpt_failing_series_counts where collection_id = '(all)'"
                            ).fetchone()[0] if "rpt_failing_series_counts" in names else None
        idc = con.execute("select count(*) from idc_index").fetchone()[0] if "idc_index" in names else None
        kind = con.execute("select max(input_kind) from rpt_build_context").fetchone()[0] \
            if "rpt_build_context" in names else None
    if not local or not idc:
        return None
    what = "synthetic instance metadata (idc-qc synth)" if kind == "synthetic" else "the local instance input"
    return (f"{INSTANCE_RELATION} here is {what}: local data covers {local:,} of IDC's {idc:,} series; "
            "counts are of the local data, not of IDC")


def _show(result, max_rows: int) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console(soft_wrap=False)
    table = Table(show_edge=False, header_style="bold")
    for name in result.table.column_names:
        table.add_column(escape(name), overflow="fold", max_width=60)
    for row in result.table.slice(0, max_rows).to_pylist():
        table.add_row(*(_cell(v) for v in row.values()))
    if out.is_terminal and min(result.rows, max_rows) + 4 > out.size.height:
        with out.pager(styles=True):
            out.print(table)
    else:
        out.print(table)
