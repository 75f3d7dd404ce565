"""`idc-qc build`: dbt build into a DuckDB file (atomically) or on BigQuery."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import ChecksFailed, IdcQcError
from ..paths import remember_db
from .app import console
from ..paths import DEFAULT_DB
from .options import BuildDbOption, InstancesOption


def build(
    ctx: typer.Context,
    instances: InstancesOption = None,
    db: BuildDbOption = DEFAULT_DB,
    select: Annotated[
        Optional[list[str]],
        typer.Option("--select", "-s", help="dbt node selection, e.g. `+series_geometry` (repeatable; "
                                            "`\"+a +b\"` selects both). Unselected models are kept."),
    ] = None,
    whole_index: Annotated[
        bool, typer.Option("--whole-index", help="Keep every series of IDC's index in `series`, not only the input's."),
    ] = False,
    target: Annotated[
        str,
        typer.Option(help="Engine: `duckdb` (embedded, default) or `bigquery` (see docs/bigquery.md).",
                     rich_help_panel="BigQuery"),
    ] = "duckdb",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="BigQuery only: report the bytes each model would scan; run nothing.",
                     rich_help_panel="BigQuery"),
    ] = False,
    release: Annotated[
        Optional[str],
        typer.Option("--release", "-r", envvar="IDC_QC_RELEASE",
                     help="IDC release to build, e.g. `v20`. DuckDB: that release's index (fetched into the cache, "
                          "see `idc-qc release fetch`) into its own folder build/releases/v20/ unless --db is given. "
                          "BigQuery: bigquery-public-data.idc_v20 (`current` for idc_current; default 25)."),
    ] = None,
    idc_release: Annotated[
        Optional[str], typer.Option("--idc-release", hidden=True, help="Old name of --release (BigQuery)."),
    ] = None,
    clinical: Annotated[
        Optional[Path],
        typer.Option("--clinical",
                     help="Clinical store to read (a folder `idc-qc clinical add --store` wrote). Default: the "
                          "database's own store, <db stem>.clinical/ beside it (build/idc_qc.clinical/), or "
                          "$IDC_QC_CLINICAL_DIR."),
    ] = None,
    idc_indices: Annotated[
        Optional[str],
        typer.Option("--idc-indices",
                     help="IDC's published volume_geometry_index, set beside our verdicts in series_geometry_vs_idc: "
                          "the folder idc-index downloads its indices to, or the parquet file; `none` reads none. "
                          "Default: $IDC_QC_IDC_INDICES, else idc-index's data folder when it holds the file."),
    ] = None,
) -> None:
    """Build the harmonized series and geometry tables with dbt.

    The new tables replace the previous ones only when the build succeeds: an
    interrupted or failed build leaves the previous database as it was.

    Example: idc-qc build --instances build/synth/instances --db build/idc_qc.duckdb

    Another IDC release's index, in its own folder: idc-qc build --release v20

    On BigQuery (IDC_QC_BQ_PROJECT set): idc-qc build --target bigquery --dry-run
    """
    release = release or idc_release
    if target == "bigquery":
        bq_release = "25" if release is None else (release if release == "current" else str(_release_number(release)))
        _build_bigquery(select=select, dry_run=dry_run, idc_release=bq_release)
        return
    if target != "duckdb":
        raise IdcQcError(f"unknown --target {target!r}: use duckdb or bigquery")
    if dry_run:
        raise IdcQcError("--dry-run is for --target bigquery (DuckDB builds cost nothing)")
    from ..build import build as run_build
    from .display import BuildDisplay

    number = None if release is None else _release_number(release)
    if number is not None and _is_default(ctx, "db"):
        from ..database.files import release_db

        db = release_db(number)

    index = "the IDC index" if number is None else f"IDC release v{number}'s index"
    source = instances or index + " alone"
    if select and not instances and Path(db).exists():
        source = "the same input as the build it updates (a partial build keeps its scope)"
    console.print(f"Building into [bold]{escape(str(db))}[/] from {escape(source)}"
                  + ("" if number is None or not instances else f" (with IDC release v{number}'s index)"))
    started = time.perf_counter()
    display = BuildDisplay(console)
    try:
        with display:
            result = run_build(db, instances, select=select, on_progress=display, whole_index=whole_index,
                               release=number, clinical_dir=clinical, idc_indices=idc_indices)
    except ChecksFailed as exc:
        result = getattr(exc, "result", None)
        if result is not None:
            remember_db(db)
            show_build_summary(result, display, time.perf_counter() - started)
        raise
    remember_db(db)
    show_build_summary(result, display, time.perf_counter() - started)


def _is_default(ctx: typer.Context, name: str) -> bool:
    """True when option ``name`` was not given (neither on the command line nor by its env var)."""
    source = ctx.get_parameter_source(name)
    return source is None or getattr(source, "name", "") in ("DEFAULT", "DEFAULT_MAP")


def _release_number(text: str) -> int:
    from ..releases.cache import parse_release

    return parse_release(text)


def _idc_verdict(summary) -> str:
    """IDC's count beside ours when they differ, and why: '; IDC's regularly_spaced_3d_volume
    says 8, 3 of them on malformed values'."""
    idc, malformed = summary.idc_regular_volumes, summary.idc_regular_on_malformed_values
    if idc is None or idc == summary.regular_volumes:
        return ""
    why = f", {malformed:,} of them on malformed values" if malformed else ""
    return f"; IDC's regularly_spaced_3d_volume says {idc:,}{why}"


def show_build_summary(result, display, seconds: float) -> None:
    """Close a build with what a curator wants: how many series, how many regular, why not, what next."""
    from ..warehouse import summarize

    db = result.db_path
    built = sum(1 for n in result.dbt.nodes if n.resource_type in {"model", "seed", "snapshot"} and n.status == "success")
    verdict = "[green]Built[/]" if result.status == "complete" else "[yellow]Built, with failing checks:[/]"
    console.print(f"{verdict} {built} model{'s' if built != 1 else ''} in {seconds:.0f}s into [bold]{escape(str(db))}[/] ({display.tests_line()})")
    summary = summarize(db)
    if summary.notice:
        console.print(f"  [bold red]{escape(summary.notice)}[/]")
    if summary.series_read is not None:
        share = f" ({summary.regular_share:.0%})" if summary.regular_share is not None else ""
        console.print(f"  {summary.series_read:,} series read; {summary.regular_volumes:,} are regular 3D volumes "
                      f"by geometry_category{share}{_idc_verdict(summary)}")
        if summary.top_reasons:
            console.print("  top failure reasons: " + ", ".join(f"{r} ({n:,})" for r, n in summary.top_reasons))
    if summary.idc_published_comparison:
        counts = ", ".join(f"{n:,} {what}" for what, n in summary.idc_published_comparison.items())
        console.print(f"  beside IDC's published volume_geometry_index: {escape(counts)} (table series_geometry_vs_idc)")
    if summary.unusable_instances is not None:
        console.print(f"  {summary.unusable_instances:,} unusable instances (table unusable_instances)")
    if getattr(result, "manifest", None) is not None:
        console.print(f"  run manifest: {escape(str(result.manifest))} (build {escape(result.build_id)})")
    console.print(next_steps(db, summary.tables))


def next_steps(db: Path, tables: list[str]) -> str:
    """What to do next, naming only tables that exist in ``db``."""
    preferred = [t for t in ("series_geometry", "series", "instance_geometry") if t in tables]
    table = preferred[0] if preferred else (tables[0] if tables else None)
    if table is None:
        return "No tables were built."
    path = str(db).replace("'", "\\'")
    return (
        "Next:\n"
        f"  idc-qc export {table} -o {table}.csv --db {escape(str(db))}\n"
        f"  duckdb {escape(str(db))} -readonly -c \"from {table} limit 5\"      [dim](the duckdb CLI, if installed)[/]\n"
        f"  python -c \"import duckdb; print(duckdb.connect('{escape(path)}', read_only=True).table('{table}').df())\"\n"
        f"  tables: {', '.join(escape(t) for t in tables if not t.startswith(('stg_', 'int_')))}"
    )


def _build_bigquery(select: list[str] | None, dry_run: bool, idc_release: str) -> None:
    """BigQuery (idc_qc.build_bigquery): show the dry run's prices, or the build's progress."""
    from rich.console import Console
    from rich.table import Table

    from .. import bigquery as bq
    from ..build_bigquery import build_bigquery
    from .display import BuildDisplay

    if dry_run:
        result = build_bigquery(idc_release=idc_release, select=select, dry_run=True)
        report, limit = result.dry_run, result.max_bytes_billed
        table = Table(title=f"BigQuery dry run (idc_release {idc_release}): nothing was run or billed")
        table.add_column("model")
        table.add_column("materialized")
        table.add_column("would scan", justify="right")
        for model in report.results:
            table.add_row(model.name, model.materialized,
                          bq.format_bytes(model.bytes_processed) if model.ok else f"[red]{model.error}[/]")
        Console().print(table)
        console.print(f"Billed when built (tables): {bq.format_bytes(report.bytes_billed_on_build)}; "
                      f"cost guard maximum_bytes_billed = {bq.format_bytes(limit)}")
        if report.over_limit:
            raise IdcQcError(f"{len(report.over_limit)} model(s) would exceed maximum_bytes_billed: "
                             + ", ".join(r.name for r in report.over_limit))
        return
    display = BuildDisplay(console)
    with display:
        result = build_bigquery(idc_release=idc_release, select=select, on_progress=display,
                                on_stage=lambda text: console.print(escape(text)))
    run = result.dbt
    console.print(f"[bold]dbt build[/] on BigQuery finished in {run.seconds:.1f}s ({len(run.nodes)} nodes; "
                  f"{display.tests_line()})")
