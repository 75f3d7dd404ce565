"""The ``idc-qc`` command line: thin commands over importable functions.

Heavy imports (dbt, DuckDB, Altair) happen inside the commands so ``--help`` stays instant.
Known failures become one red ``Error: ...`` line; ``--debug`` shows the traceback.
Exit codes: 0 ok, 1 checks failed, 2 the tool itself could not run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .errors import IdcQcError

console = Console(stderr=True, soft_wrap=True)
app = typer.Typer(
    name="idc-qc",
    help=(
        "Metadata analytics and data-quality checks for DICOM archives shaped like NCI's Imaging "
        "Data Commons (IDC).\n\nStart with `idc-qc demo`: it synthesizes instance metadata from IDC's "
        "real series index, builds every table into a DuckDB file and says where the results are."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="IDC_QC_DB", help="DuckDB file the tables are built into.", show_default=True),
]
InstancesOption = Annotated[
    Optional[str],
    typer.Option(
        "--instances",
        "-i",
        envvar="IDC_QC_INSTANCES",
        help="Instance metadata shaped like IDC's dicom_all: a parquet file (always read literally), a folder (all its .parquet files) or a glob (expanded only when no such file exists); see docs/instance_contract.md. Omit to build from IDC's index alone.",
    ),
]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _node_printer():
    """A dbt node callback that prints one line per finished model, seed or test."""
    counts = {"done": 0}
    marks = {"success": "[green]OK[/]", "pass": "[green]PASS[/]", "fail": "[red]FAIL[/]", "error": "[red]ERROR[/]",
             "warn": "[yellow]WARN[/]", "skipped": "[yellow]SKIP[/]"}

    def on_node(unique_id: str, status: str, seconds: float) -> None:
        counts["done"] += 1
        parts = unique_id.split(".")
        kind, name = parts[0], parts[2]
        if kind == "test" and status == "pass":
            return  # passing data tests are many; the summary counts them
        console.print(f"  {counts['done']:>4}  {marks.get(status, status)}  {kind:<9} {name}  [dim]{seconds:.1f}s[/]")

    return on_node


def _summarize_build(result) -> None:
    from collections import Counter

    statuses = Counter(n.status for n in result.dbt.nodes)
    console.print(
        f"[bold]dbt build[/] finished in {result.dbt.seconds:.1f}s: "
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    )


@app.command()
def build(
    instances: InstancesOption = None,
    db: DbOption = Path("build/idc_qc.duckdb"),
    select: Annotated[
        Optional[list[str]], typer.Option("--select", "-s", help="dbt node selection, e.g. `+series_geometry`.")
    ] = None,
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
    idc_release: Annotated[
        str,
        typer.Option(help="BigQuery only: IDC release to read, a number (bigquery-public-data.idc_v25) or `current`.",
                     rich_help_panel="BigQuery"),
    ] = "25",
) -> None:
    """Build the harmonized series and geometry tables with dbt.

    Example: idc-qc build --instances build/synth/instances --db build/idc_qc.duckdb

    On BigQuery (IDC_QC_BQ_PROJECT set): idc-qc build --target bigquery --dry-run
    """
    if target == "bigquery":
        _build_bigquery(select=select, dry_run=dry_run, idc_release=idc_release)
        return
    if target != "duckdb":
        raise IdcQcError(f"unknown --target {target!r}: use duckdb or bigquery")
    if dry_run:
        raise IdcQcError("--dry-run is for --target bigquery (DuckDB builds cost nothing)")
    from .build import build as run_build

    console.print(f"Building into [bold]{db}[/] from {instances or 'the IDC index alone'} ...")
    result = run_build(db, instances, select=select, on_node=_node_printer())
    _summarize_build(result)
    console.print(f"Tables are in [bold]{db}[/]. Export one with: idc-qc export series -o series.parquet --db {db}")


def _build_bigquery(select: list[str] | None, dry_run: bool, idc_release: str) -> None:
    """BigQuery: load the series index, then dbt build (or only price it with --dry-run)."""
    from rich.table import Table

    from . import bigquery as bq
    from .dbt_runner import run_dbt

    project = os.environ.get("IDC_QC_BQ_PROJECT")
    if not project:
        raise IdcQcError("set IDC_QC_BQ_PROJECT (and IDC_QC_BQ_KEYFILE, or use application-default credentials); see docs/bigquery.md")
    client = bq.make_client(project, location=os.environ.get("IDC_QC_BQ_LOCATION", "US"),
                            keyfile=os.environ.get("IDC_QC_BQ_KEYFILE") or None)
    dbt_vars = {"idc_release": idc_release}
    if dry_run:
        limit = int(os.environ.get("IDC_QC_BQ_MAX_BYTES_BILLED", "100000000000"))
        report = bq.dry_run(client, target="bigquery", vars=dbt_vars, select=select, maximum_bytes_billed=limit)
        table = Table(title=f"BigQuery dry run (idc_release {idc_release}): nothing was run or billed")
        table.add_column("model")
        table.add_column("materialized")
        table.add_column("would scan", justify="right")
        for result in report.results:
            table.add_row(result.name, result.materialized,
                          bq.format_bytes(result.bytes_processed) if result.ok else f"[red]{result.error}[/]")
        Console().print(table)
        console.print(f"Billed when built (tables): {bq.format_bytes(report.bytes_billed_on_build)}; "
                      f"cost guard maximum_bytes_billed = {bq.format_bytes(limit)}")
        if report.over_limit:
            raise IdcQcError(f"{len(report.over_limit)} model(s) would exceed maximum_bytes_billed: "
                             + ", ".join(r.name for r in report.over_limit))
        return
    dataset = os.environ.get("IDC_QC_BQ_INDEX_DATASET", "idc_qc_index")
    console.print(f"Loading the idc-index-data tables into {project}.{dataset} ...")
    bq.load_index_tables(client, dataset)
    dbt_vars["idc_index_bigquery_dataset"] = dataset
    result = run_dbt("build", target="bigquery", vars=dbt_vars, select=select, on_node=_node_printer())
    console.print(f"[bold]dbt build[/] on BigQuery finished in {result.seconds:.1f}s ({len(result.nodes)} nodes)")


@app.command()
def export(
    model: Annotated[str, typer.Argument(help="Model (table) to export, e.g. series or series_geometry.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    db: DbOption = Path("build/idc_qc.duckdb"),
) -> None:
    """Export one built table to parquet or CSV.

    Example: idc-qc export series_geometry -o series_geometry.csv
    """
    from .export import export_model

    rows = export_model(db, model, out)
    console.print(f"Wrote {rows:,} rows of {model} to [bold]{out}[/]")


def _parse_rates(rate: list[str] | None):
    from .synth import FaultRates

    values: dict[str, float] = {}
    for item in rate or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise IdcQcError(f"--rate {item!r}: write it as FAULT=RATE, e.g. missing_slices=0.05")
        if name not in FaultRates.__dataclass_fields__:
            raise IdcQcError(f"--rate: unknown fault {name!r}; known: {', '.join(FaultRates.__dataclass_fields__)}")
        try:
            values[name] = float(value)
        except ValueError:
            raise IdcQcError(f"--rate {item!r}: {value!r} is not a number") from None
    try:
        return FaultRates(**values)
    except (TypeError, ValueError) as exc:
        raise IdcQcError(f"--rate: {exc}") from None


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (instances/part-*.parquet, truth.parquet).")] = Path("build/synth"),
    series: Annotated[Optional[int], typer.Option("--series", "-n", help="Number of series to sample; all ~402k single-frame CT/MR/PT series when omitted.")] = None,
    fraction: Annotated[Optional[float], typer.Option(help="Sample this fraction of series instead of a count.")] = None,
    modality: Annotated[Optional[list[str]], typer.Option("--modality", "-m", help="CT, MR and/or PT (repeatable).")] = None,
    collection: Annotated[Optional[list[str]], typer.Option("--collection", "-c", help="Restrict to IDC collection_id (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same data.")] = 0,
    rate: Annotated[Optional[list[str]], typer.Option("--rate", help="Fault rate override FAULT=RATE (repeatable), e.g. missing_slices=0.05.", rich_help_panel="Faults")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier synth run in --out: removes only the files its synth_manifest.json lists.")] = False,
) -> None:
    """Generate instance-level metadata from IDC's real series index, with injected geometry faults.

    Series keep their real UIDs, collections, patients, makers and instance counts; positions,
    orientations and spacings are synthetic, and each series' injected fault (or none) is
    written to truth.parquet beside the instances.

    Example: idc-qc synth --series 2000 --out build/synth --rate missing_slices=0.05
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .synth import synthesize

    rates = _parse_rates(rate)
    with Progress(TextColumn("synthesizing series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("synth", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = synthesize(
                out, series_limit=series, sample_fraction=fraction,
                modalities=tuple(m.upper() for m in modality) if modality else ("CT", "MR", "PT"),
                collections=tuple(collection) if collection else None, seed=seed, rates=rates,
                progress=on_progress, overwrite=overwrite,
            )
        except ValueError as exc:
            raise IdcQcError(str(exc)) from None
    console.print(
        f"Wrote {result.instances:,} instances of {result.series:,} series "
        f"({result.bytes_written / 1e6:,.1f} MB) in {result.seconds:.1f}s to [bold]{result.out_dir}[/]"
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's data, database and reports.")] = Path("build/demo"),
    series: Annotated[int, typer.Option("--series", "-n", help="How many real IDC series to synthesize.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed for the synthetic sample.")] = 0,
) -> None:
    """Run the main job end to end on the embedded DuckDB engine.

    Synthesizes instance metadata for a sample of IDC's real series (with injected
    geometry faults), builds every table, writes the reports, and prints where they are.

    Example: idc-qc demo --series 5000 --out build/demo
    """
    from .demo import run_demo

    run_demo(out, series=series, seed=seed, console=console, on_node=_node_printer())


def main() -> None:
    """Console-script entry point: the one error boundary."""
    try:
        app()
    except IdcQcError as exc:
        if _state["debug"]:
            raise
        console.print(f"[bold red]Error:[/] {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("[red]Interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
