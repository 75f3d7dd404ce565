"""`idc-qc diff vA vB`: what changed between two IDC releases (terminal tables, CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console

ReleasesDirOption = Annotated[
    Path,
    typer.Option("--releases-dir", envvar="IDC_QC_RELEASES_DIR",
                 help="Folder of the per-release builds (v20/idc_qc.duckdb, ...): where QC failures are read."),
]


def diff(
    release_a: Annotated[str, typer.Argument(help="The older release, e.g. v20.")],
    release_b: Annotated[str, typer.Argument(help="The newer release, e.g. v25.")],
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Also write the tables as CSV files into this folder.")] = None,
    releases_dir: ReleasesDirOption = Path("build/releases"),
    top: Annotated[int, typer.Option(help="Collections shown (the biggest changes first); CSV has all.")] = 15,
) -> None:
    """Compare two IDC releases: collections and series added, removed, revised; per-collection
    change in series, patients, instances and size; QC failures new / fixed / unchanged when both
    releases were built and checked.

    The releases' indices are fetched into the cache when needed (`idc-qc release fetch`).

    Example: idc-qc diff v20 v25 --csv build/diff
    """
    from ..database.files import release_db
    from ..releases.cache import parse_release
    from ..releases.diff import diff_releases, write_csv
    from .release import print_diff

    ra, rb = parse_release(release_a), parse_release(release_b)
    with console.status(f"comparing v{ra} with v{rb} ..."):
        result = diff_releases(ra, rb, db_a=release_db(ra, releases_dir), db_b=release_db(rb, releases_dir))
    print_diff(result, top=top)
    if csv is not None:
        for path in write_csv(result, csv):
            console.print(f"Wrote [bold]{escape(str(path))}[/]")
