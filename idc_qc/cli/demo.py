"""`idc-qc demo`: the main job end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import console


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
    from ..demo import run_demo
    from .display import BuildDisplay

    display = BuildDisplay(console)
    run_demo(out, series=series, seed=seed, console=console, on_progress=display)
