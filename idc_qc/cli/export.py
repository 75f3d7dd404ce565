"""`idc-qc export`: one built table to parquet or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


def export(
    model: Annotated[str, typer.Argument(help="Model (table) to export, e.g. series or series_geometry.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export one built table to parquet or CSV.

    Refuses a database whose build did not finish; warns when its data tests failed.

    Example: idc-qc export series_geometry -o series_geometry.csv
    """
    from ..database.guard import refuse_output_on_input
    from ..export import export_model

    refuse_output_on_input(out, db)

    result = export_model(db, model, out)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    console.print(f"Wrote {result.rows:,} rows of {escape(model)} to [bold]{escape(str(out))}[/]")
    if result.manifest is not None:
        build = f"build {result.build_id}, " if result.build_id else ""
        console.print(f"  from the build described in {escape(str(result.manifest))}" + (f" ({build[:-2]})" if build else ""))
