"""`idc-qc dashboard`: one offline HTML file summarizing a build."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


def dashboard(
    db: DbOption = DEFAULT_DB,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("build/reports/dashboard.html"),
    title: Annotated[Optional[str], typer.Option(help="Page title.")] = None,
) -> None:
    """Write one self-contained HTML dashboard of a build (opens offline, no server).

    Series, patients, instances and size by collection and modality, growth across IDC
    releases, geometry categories and failure reasons by collection and manufacturer, and
    demographics with unknown values shown. A drop-down picks one collection for every chart.
    Build with --whole-index to see all of IDC's series beside your instances.

    Example: idc-qc dashboard --db build/idc_qc.duckdb -o build/reports/dashboard.html

    (after e.g. idc-qc build --instances build/synth/instances --whole-index)
    """
    from ..database.guard import refuse_output_on_input
    from ..database.state import build_notes
    from ..reports.dashboard import render_dashboard

    refuse_output_on_input(out, db)
    for note in build_notes(db):  # a failed or running build: these results are the previous build's
        console.print(f"[yellow]Warning:[/] {escape(note)}")

    with console.status("reading the reporting models and drawing ...") if console.is_terminal else nullcontext():
        result = render_dashboard(db, out, title=title)
    if result.notice:
        console.print(f"[bold red]{escape(result.notice)}[/]")
    t = result.totals
    console.print(f"{t['series']:,} series, {t['patients']:,} patients, {t['collections']:,} collections; "
                  f"{len(result.charts)} charts from {result.rows_embedded:,} rpt_* rows")
    console.print(f"  wrote [bold]{escape(str(result.html))}[/] ({result.bytes / 1e6:.1f} MB, opens offline)")
