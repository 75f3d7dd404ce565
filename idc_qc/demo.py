"""`idc-qc demo`: the main job end to end on the embedded engine."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .dbt_runner import NodeCallback, ProgressCallback
from .errors import IdcQcError


def run_demo(out: Path, *, series: int, seed: int, console: Console, on_node: NodeCallback | None = None,
             on_progress: ProgressCallback | None = None) -> dict:
    """Synthesize ``series`` real IDC series, build every model, render the reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .build import build
    from .export import export_model
    from .reports.geometry_summary import render_geometry_summary
    from .synth import synthesize

    if series < 1:
        raise IdcQcError(f"--series {series}: give a positive number of series")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)

    console.print(f"[bold]1/3[/] Synthesizing instance metadata for {series:,} real IDC series (seed {seed}) ...")
    with Progress(TextColumn("  series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("synth", total=series)
        # The demo folder is the demo's own: rerunning replaces its earlier synth run (only
        # the files synth's manifest lists; a foreign file in it is refused, not deleted).
        synth = synthesize(out / "synth", series_limit=series, seed=seed, overwrite=True,
                           progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"  {synth.instances:,} instances of {synth.series:,} series in {synth.seconds:.1f}s")

    db = out / "idc_qc.duckdb"
    console.print(f"[bold]2/3[/] Building the models into {db} ...")
    if on_progress is not None and hasattr(on_progress, "__enter__"):
        with on_progress:
            result = build(db, str(out / "synth" / "instances"), on_node=on_node, on_progress=on_progress)
    else:
        result = build(db, str(out / "synth" / "instances"), on_node=on_node, on_progress=on_progress)
    console.print(f"  dbt build: {len(result.dbt.nodes)} nodes in {result.dbt.seconds:.1f}s")

    console.print("[bold]3/3[/] Writing reports ...")
    files = {}
    for model in ("series", "series_geometry", "instance_geometry", "rpt_geometry_failures", "rpt_geometry_failure_sets"):
        path = out / f"{model}.parquet"
        export_model(db, model, path)
        files[model] = path
    summary = render_geometry_summary(db, out)
    files["geometry_summary_html"] = summary.html
    files["geometry_summary_png"] = summary.png

    from .provenance import SYNTHETIC_NOTICE

    table = Table(title="Geometry of the synthesized series", caption=SYNTHETIC_NOTICE, caption_style="bold red")
    table.add_column("category")
    table.add_column("modality")
    table.add_column("series", justify="right")
    for category, modality, count in summary.categories:
        table.add_row(category, modality, f"{count:,}")
    console.print(table)

    console.print(f"\nDone in {time.perf_counter() - started:.0f}s. Results:")
    width = max(len(name) for name in ["database", *files])
    console.print(f"  {'database':<{width}}  {db}")
    for name, path in files.items():
        console.print(f"  {name:<{width}}  {path}")
    return files
