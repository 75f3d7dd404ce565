"""`idc-qc cohort`: a cohort manifest anyone can rebuild and download, and its check against another release."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption
from .query import Dialect, _read_sql

app = typer.Typer(
    name="cohort",
    help="Cohorts as manifests anyone can rebuild and download, checked against other IDC releases.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    out: Annotated[Path, typer.Option("--out", "-o", help="The manifest to write (.json); the s5cmd file goes beside it.")],
    sql: Annotated[Optional[str], typer.Argument(help="A query returning SeriesInstanceUID (or use filters).", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Read the query from FILE.sql.")] = None,
    dialect: Annotated[Dialect, typer.Option("--dialect", "-d", help="duckdb or bigquery (IDC's SQL).")] = Dialect.duckdb,
    collection: Annotated[Optional[list[str]], typer.Option("--collection", help="collection_id, any case (repeat for several).")] = None,
    modality: Annotated[Optional[list[str]], typer.Option("--modality", help="Modality, e.g. CT, any case (repeat for several).")] = None,
    body_part: Annotated[Optional[list[str]], typer.Option("--body-part", help="BodyPartExamined (repeat for several).")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="One SQL condition over idc_index's columns (checked; reads no file).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="The cohort's name (default: the file's stem).")] = None,
    release: Annotated[Optional[str], typer.Option("--release", "-r", help="Resolve against another IDC release's index, e.g. v21.", rich_help_panel="Another release")] = None,
    index: Annotated[Optional[Path], typer.Option("--index", help="Or that release's idc_index.parquet.", rich_help_panel="Another release")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write a cohort manifest: series UIDs, crdc_series_uuid, bucket URLs, release, query and hash, citations.

    Examples:

      idc-qc cohort create --collection nlst --modality CT -o nlst_ct.json

      idc-qc cohort create -o regular_ct.json "select SeriesInstanceUID from series_geometry where regularly_spaced_3d_volume and Modality = 'CT'"

    Then: s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com run nlst_ct.s5cmd
    """
    from ..database.guard import refuse_output_on_input
    from ..query.cohort import create_cohort
    from ..query.selection import Selection

    refuse_output_on_input(out, db)

    filters = Selection(collection=collection or [], modality=modality or [], body_part=body_part or [], where=where)
    text = _read_sql(sql, file) if (sql or file) else None
    cohort = create_cohort(db, out, sql=text, dialect=dialect.value, filters=None if text else filters, name=name,
                           release=release, index=index)
    for warning in cohort.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    m = cohort.manifest
    console.print(f"Cohort [bold]{escape(m['name'])}[/]: {m['counts']['series']:,} series "
                  f"({m['counts']['instances']:,} instances, {m['counts']['size_MB']:,.1f} MB) from "
                  f"{len({c['collection_id'] for c in m['citations']})} collection(s), IDC {m['idc_release']}")
    console.print(f"  manifest: [bold]{escape(str(cohort.path))}[/]   download list: {escape(str(cohort.s5cmd_path))}")
    console.print(f"  download: {escape(m['download']['command'])}")


@app.command("check")
def check(
    manifest: Annotated[Path, typer.Argument(help="A manifest written by `idc-qc cohort create`.")],
    release: Annotated[Optional[str], typer.Option("--release", "-r", help="IDC release to rerun against, e.g. v21 (fetched and cached).")] = None,
    index: Annotated[Optional[Path], typer.Option("--index", help="Or that release's idc_index.parquet.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the differences as JSON.")] = None,
    limit: Annotated[int, typer.Option("--show", help="Series listed per kind of change.")] = 20,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Rerun a cohort's query on another IDC release: series gained, lost or revised.

    Example: idc-qc cohort check nlst_ct.json --release v21
    """
    import json

    from ..database.guard import refuse_output_on_input
    from ..query.cohort import check_cohort

    refuse_output_on_input(out, db)
    result = check_cohort(manifest, db, release=release, index=index)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    console.print(f"{escape(str(manifest))} ({escape(str(result.manifest_release))}) against {escape(result.release)}: "
                  f"{len(result.gained)} gained, {len(result.lost)} lost, {len(result.revised)} revised, "
                  f"{result.unchanged} unchanged")
    for label, rows in (("gained", result.gained), ("lost", result.lost), ("revised", result.revised)):
        for row in rows[:limit]:
            extra = (f" {row['crdc_series_uuid_before']} -> {row['crdc_series_uuid_after']}" if label == "revised"
                     else f" {row.get('collection_id')}")
            typer.echo(f"  {label:8} {row['SeriesInstanceUID']}{extra}")
        if len(rows) > limit:
            typer.echo(f"  {label:8} ... and {len(rows) - limit} more (-o FILE.json lists all)")
    if out is not None:
        out.write_text(json.dumps(result.as_dict(), indent=2, default=str) + "\n")
        console.print(f"wrote {escape(str(out))}")
