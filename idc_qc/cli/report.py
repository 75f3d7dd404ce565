"""`idc-qc report`: the curators' QC failure report (HTML that works offline, and CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


def report(
    db: DbOption = DEFAULT_DB,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file to write; default <db stem>.qc_report.html beside the database.")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="CSV of every failing row; default the HTML's name with .csv.")] = None,
    rows_per_collection: Annotated[int, typer.Option(help="Failing rows per collection embedded in the page (the CSV has all).")] = 100,
    against: Annotated[Optional[str], typer.Option("--against", help="Add a release diff section: an older release (v20, built under the releases folder) or its database file. Default: the run manifest's diff (written by idc-qc release run).")] = None,
    collection: Annotated[Optional[list[str]], typer.Option(
        "--collection", "-c", help="Only the failing rows of this collection_id, any case (repeatable).")] = None,
    modality: Annotated[Optional[list[str]], typer.Option(
        "--modality", "-m", help="Only the failing rows of this Modality, any case (repeatable).")] = None,
    where: Annotated[Optional[str], typer.Option(
        "--where", help="Only the failing rows where this SQL condition on their columns holds, e.g. \"suite = 'geometry'\".")] = None,
) -> None:
    """Write the QC failure report of a checked database: one offline HTML page and the same rows as CSV.

    Reads what `idc-qc check` wrote beside the database (run it first; results of another
    build than the one the database holds are refused, exit 2): a summary (checks
    run, failed, errored; series affected by collection, largest first), each failing check
    with sample rows and the SQL that returns all of them, and the failing series per
    collection with the offending values, the instances involved, a hint and a viewer link.

    With clinical data registered it has a Clinical coverage section (failing patients per
    collection, rule and values); after `idc-qc release run`, or with --against, a section on
    what changed since the older release (series added/removed/revised, QC failures new/fixed).

    --collection, --modality and --where keep the failing rows of a selection (the filters of
    export, upset and bias: values match without regard to case, --where is one checked
    condition); the gates stay the whole build's, and the page says which rows it shows.

    Example: idc-qc report --db build/idc_qc.duckdb -o qc.html   (after idc-qc check --db build/idc_qc.duckdb)
    Example: idc-qc report --db build/releases/v25/idc_qc.duckdb --against v20
    Example: idc-qc report --collection nlst --where "suite = 'geometry'" -o nlst_geometry.html
    """
    from ..database.guard import refuse_output_on_input
    from ..query.selection import Selection
    from ..reports.qc_report import build_report
    from ..reports.report_sections import plural

    refuse_output_on_input(out, db, suffixes=(".html", ".htm"))
    refuse_output_on_input(csv, db, option="--csv")

    with console.status("writing the report ...", spinner="dots") as status:
        result = build_report(db, out=out, csv_out=csv, rows_per_collection=rows_per_collection,
                              progress=lambda text: status.update(text + " ..."), against=against,
                              selection=Selection(collection=collection or [], modality=modality or [], where=where))
    if result.input_kind == "synthetic":
        console.print("[yellow]Note:[/] synthetic input: the failures are injected faults")
    if result.incomplete:
        console.print(f"[yellow]The verdict is incomplete:[/] {result.incomplete} expectation(s) could not run when "
                      f"checked; the failing rows below are only those of the checks that ran")
    if result.selection:
        console.print(f"Filtered to {escape(result.selection)} (the gates are the whole build's)")
    console.print(f"{plural(result.rows_total, 'failing row')} in {plural(result.series_affected, 'series')} of "
                  f"{plural(result.collections, 'collection')} (page: {plural(result.rows_in_page, 'row')}; build "
                  f"{escape(result.build_id or 'unrecorded')}, from {escape(result.manifest)})")
    if result.release_diff is not None:
        d = result.release_diff
        console.print(f"Release diff v{d.a.release} -> v{d.b.release}: +{d.series_added:,} / -{d.series_removed:,} series"
                      + ("" if d.qc is None else ", QC failures {new:,} new / {fixed:,} fixed / {unchanged:,} unchanged"
                         .format(**d.qc_totals())))
    console.print(f"Wrote [bold]{escape(str(result.html))}[/] and [bold]{escape(str(result.csv))}[/]")
