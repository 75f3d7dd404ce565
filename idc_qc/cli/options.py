"""Options shared by several commands, declared once (each with its environment variable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


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
