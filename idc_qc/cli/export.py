"""`idc-qc export`: one built table to parquet or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


def export(
    model: Annotated[str, typer.Argument(help="Model (table) to export, e.g. series or series_geometry.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    collection: Annotated[Optional[list[str]], typer.Option(
        "--collection", "-c", help="Only rows of this collection_id, any case (repeatable).")] = None,
    modality: Annotated[Optional[list[str]], typer.Option(
        "--modality", "-m", help="Only rows of this Modality, any case (repeatable).")] = None,
    where: Annotated[Optional[str], typer.Option(
        "--where", help="Only rows where this SQL condition on the model's columns holds, e.g. \"regularly_spaced_3d_volume\".")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export one built table to parquet or CSV, all of it or the rows of a selection.

    Refuses a database whose build did not finish; warns when its data tests failed. The
    filters are those of upset, bias and cohort: values match without regard to case, and
    --where is one condition, checked by DuckDB's parser and run on a read-only connection
    that reads no file but the warehouse's own (docs/query.md).

    Example: idc-qc export series_geometry -o series_geometry.csv

    More: idc-qc export series_geometry --collection nlst --modality CT --where "not regularly_spaced_3d_volume" -o irregular.parquet
    """
    from ..database.guard import refuse_output_on_input
    from ..export import export_model
    from ..query.selection import Selection

    refuse_output_on_input(out, db)

    selection = Selection(collection=collection or [], modality=modality or [], where=where)
    result = export_model(db, model, out, selection=selection)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    console.print(f"Wrote {result.rows:,} rows of {escape(model)} to [bold]{escape(str(out))}[/]")
    if result.input_kind == "synthetic":
        console.print("[yellow]Note:[/] synthetic input (idc-qc synth): the file says so "
                      + ("in its metadata (idc_qc_input_kind)" if out.suffix.lower() == ".parquet"
                         else "in its last column, idc_qc_input_kind"))
    if result.manifest is not None:
        build = f"build {result.build_id}, " if result.build_id else ""
        console.print(f"  from the build described in {escape(str(result.manifest))}" + (f" ({build[:-2]})" if build else ""))
