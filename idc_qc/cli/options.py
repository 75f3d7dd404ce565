"""Options shared by several commands, declared once (each with its environment variable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..paths import default_db, remember_db


def _given(ctx: typer.Context, name: str) -> str:
    """How option ``name`` was set: ``commandline``, ``environment`` or ``default``."""
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", "DEFAULT").lower()


def _read_db(ctx: typer.Context, param: typer.CallbackParam, value: Path) -> Path:
    """--db of a command that reads a built database.

    Named on the command line: that database, remembered for the next command in this folder.
    Not named (no --db, no IDC_QC_DB): the last database built or named here
    (build/last_db.txt), said in the command's first line, else build/idc_qc.duckdb.
    """
    if ctx.resilient_parsing or param.name is None:
        return value
    how = _given(ctx, param.name)
    if how == "commandline":
        if Path(value).is_file():
            remember_db(value)
        return value
    if how != "default":
        return value
    db, recorded = default_db()
    if recorded:
        from .app import console

        console.print(f"[dim]Database: {db} (the last one built or named with --db in this folder; "
                      f"--db or IDC_QC_DB to choose another)[/]")
    return db


DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="IDC_QC_DB", callback=_read_db, show_default=False,
                 help="DuckDB file to read. Default: the last database built (idc-qc build, idc-qc demo) or "
                      "named with --db in this folder (recorded in build/last_db.txt), else build/idc_qc.duckdb."),
]
BuildDbOption = Annotated[
    Path,
    typer.Option("--db", envvar="IDC_QC_DB", help="DuckDB file the tables are built into (later commands in this "
                                                  "folder read it when given no --db).", show_default=True),
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
