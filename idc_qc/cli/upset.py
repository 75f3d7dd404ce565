"""`idc-qc upset`: the paper's Figure 5 (an UpSet plot of failing geometry checks) for any selection."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


def upset(
    db: DbOption = DEFAULT_DB,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG, SVG and CSV.")] = Path("build/reports"),
    sets: Annotated[str, typer.Option(help="`checks`: IDC's eight volume_geometry_index checks (Figure 5); "
                                           "`reasons`: idc-qc's failure reasons; `converters`: the tools of "
                                           "series_converters that do not simply assemble a series.")] = "checks",
    collection: Annotated[Optional[list[str]], typer.Option("--collection", "-c", help="IDC collection_id, any case (repeatable), e.g. nlst.")] = None,
    modality: Annotated[Optional[list[str]], typer.Option("--modality", "-m", help="DICOM Modality, any case (repeatable), e.g. CT.")] = None,
    manufacturer: Annotated[Optional[list[str]], typer.Option(help="Harmonized manufacturer (repeatable), e.g. GE.")] = None,
    release: Annotated[Optional[int], typer.Option(help="Only series present in this IDC release, e.g. 25.")] = None,
    where: Annotated[Optional[str], typer.Option(help="One more SQL condition on rpt_geometry_upset_series (checked; reads "
                                                      "no file), e.g. \"body_part_examined = 'CHEST'\".")] = None,
    top: Annotated[int, typer.Option(help="Combinations to draw, largest first (the CSV has all).")] = 20,
    name: Annotated[Optional[str], typer.Option(help="File name stem (default upset_<sets>).")] = None,
    title: Annotated[Optional[str], typer.Option(help="Plot title (default: what and which series).")] = None,
) -> None:
    """Plot which geometry checks series fail together (an UpSet plot), as PNG, SVG and CSV.

    The sets are IDC's eight volume_geometry_index checks, as in Figure 5 of the IDC paper
    (Fedorov et al., RadioGraphics 2023), or idc-qc's failure reasons (--sets reasons).
    Counts are aggregated in SQL; a build from synthetic input says so in the title.

    Example: idc-qc upset --collection nlst --modality CT   (Figure 5 of the paper, on this data)

    More: idc-qc upset --sets reasons --where "body_part_examined = 'CHEST'" -o build/reports
    """
    from ..database.guard import refuse_output_on_input
    from ..database.state import build_notes
    from ..reports.upset import Selection, render_upset

    refuse_output_on_input(out, db)
    for note in build_notes(db):  # a failed or running build: these results are the previous build's
        console.print(f"[yellow]Warning:[/] {escape(note)}")

    selection = Selection(collection=collection or [], modality=modality or [], manufacturer=manufacturer or [],
                          release=release, where=where)
    with console.status("counting combinations and drawing ...") if console.is_terminal else nullcontext():
        result = render_upset(db, out, sets=sets, selection=selection, top=top, name=name, title=title)
    if result.notice:
        console.print(f"[bold red]{escape(result.notice)}[/]")
    console.print(f"{result.failing_series:,} of {result.selected_series:,} series ({escape(result.selection)}) "
                  f"fail at least one {({'checks': 'check', 'reasons': 'reason'}).get(sets, 'converter')}, in "
                  f"{len(result.intersections)} combinations; largest: "
                  f"{escape(' + '.join(result.intersections[0].sets))} ({result.intersections[0].series:,})")
    for path in (result.png, result.svg, result.csv):
        console.print(f"  wrote [bold]{escape(str(path))}[/]")

