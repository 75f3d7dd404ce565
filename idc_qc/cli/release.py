"""`idc-qc release fetch | list | run`: any IDC release's index, and the scheduled job per release."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from .diff import ReleasesDirOption

release_app = typer.Typer(
    name="release",
    help="IDC's releases (idc-index-data 17.0.0 ... 25.x): fetch an index, list them, run the scheduled job.\n\n"
         "Example: idc-qc release run v25",
    no_args_is_help=True,
)

ReleaseArg = Annotated[str, typer.Argument(help="IDC release, e.g. v23 or 23.")]


@release_app.command("fetch")
def fetch(
    release: ReleaseArg,
    wheel: Annotated[Optional[Path], typer.Option("--wheel", help="Offline: a local idc_index_data-N.x.y-py3-none-any.whl.")] = None,
    parquet: Annotated[Optional[Path], typer.Option("--parquet", help="Offline: a local idc_index.parquet (files beside it are taken too).")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Download again even when the cache is sound.")] = False,
) -> None:
    """Get a release's index into the cache ($IDC_QC_CACHE_DIR, default ~/.cache/idc-qc).

    The newest idc-index-data version of the release is downloaded with pip (through pip's
    configured package index); the cache is checked (size, sha256) and reused.

    Example: idc-qc release fetch v23

    Offline: idc-qc release fetch 23 --wheel idc_index_data-23.10.1-py3-none-any.whl
    """
    from ..releases.cache import fetch_release, index_shape

    with console.status(f"fetching release {release} ..."):
        cached = fetch_release(release, wheel=wheel, parquet=parquet, refresh=refresh,
                               on_stage=lambda text: console.print(f"[dim]{escape(text)}[/]"))
    for notice in cached.notices:
        console.print(f"[yellow]Note:[/] {escape(notice)}")
    shape = index_shape(cached.folder)
    console.print(f"IDC release [bold]v{cached.release}[/] (idc-index-data {escape(cached.version)}, {cached.source}): "
                  f"{escape(str(cached.index))}")
    if shape.columns_absent:
        console.print(f"  columns this release lacks (NULL when built): {', '.join(shape.columns_absent)}")
    for table, why in shape.tables_absent.items():
        console.print(f"  {table}: {why} (empty when built)")
    print(cached.index)


@release_app.command("list")
def list_releases(
    offline: Annotated[bool, typer.Option("--offline", help="Only what the cache holds; do not ask the package index.")] = False,
    latest: Annotated[bool, typer.Option("--latest", help="Print only the newest release, e.g. `v25` (for scripts and cron).")] = False,
) -> None:
    """List IDC releases on the package index (newest version of each) and which are cached.

    Example: idc-qc release list

    In a script: idc-qc release run "$(idc-qc release list --latest)"
    """
    from rich.table import Table

    from ..releases.cache import available_releases, cached_releases

    cached = {r.release: r.version for r in cached_releases()}
    try:
        import idc_index_data

        installed = idc_index_data.__version__
        cached.setdefault(int(installed.split(".")[0]), f"{installed} (installed)")
    except (ImportError, ValueError):
        pass
    known = available_releases(offline=offline)
    if latest:
        if not known:
            from ..errors import IdcQcError

            raise IdcQcError("no IDC release known (nothing cached; drop --offline to ask the package index)")
        print(f"v{known[-1].release}")
        return
    table = Table(title="IDC releases (idc-index-data)")
    table.add_column("release")
    table.add_column("version")
    table.add_column("cached")
    for info in known:
        table.add_row(f"v{info.release}", info.version, cached.get(info.release, ""))
    stdout_console().print(table)


@release_app.command("run")
def run(
    release: ReleaseArg,
    releases_dir: ReleasesDirOption = Path("build/releases"),
    instances: Annotated[Optional[str], typer.Option("--instances", "-i", help="Instance metadata to build with the release's index (default: the index alone).")] = None,
    select: Annotated[Optional[list[str]], typer.Option("--select", "-s", help="dbt selection for the build, e.g. `+series`.")] = None,
    wheel: Annotated[Optional[Path], typer.Option("--wheel", help="Offline: the release's local wheel.")] = None,
) -> None:
    """The scheduled job for one release: fetch, build, check, report, diff with the previous built release.

    Writes build/releases/vNN/ (database, run manifest, diff CSVs); one exit code: 0 ok,
    1 checks failed, 2 a step could not run. Cron: see docs/releases.md.

    Example: idc-qc release run v25
    """
    from ..errors import EXIT_OK
    from ..release_job import release_run
    from .display import BuildDisplay

    display = BuildDisplay(console)
    with display:
        result = release_run(release, root=releases_dir, instances=instances, select=select, wheel=wheel,
                             on_stage=lambda text: console.print(f"[bold]{escape(text)}[/]"), on_progress=display)
    from rich.table import Table

    colours = {"ok": "green", "checks_failed": "yellow", "failed": "red", "skipped": "dim"}
    table = Table(title=f"idc-qc release run v{result.release}")
    for column in ("step", "status", "seconds", "detail"):
        table.add_column(column, overflow="fold")
    for step in result.steps:
        colour = colours.get(step.status, "white")
        table.add_row(step.name, f"[{colour}]{step.status}[/]", f"{step.seconds:.1f}", escape(step.detail))
    stdout_console().print(table)
    if result.diff is not None:
        print_diff(result.diff, top=10)
    console.print(f"Results in [bold]{escape(str(result.db.parent))}[/]; exit code {result.exit_code}")
    if result.exit_code != EXIT_OK:
        raise typer.Exit(result.exit_code)


def stdout_console():
    """Tables go to stdout; piped into a file or a log they keep their columns (160 wide)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def print_diff(diff, top: int = 15) -> None:
    """The diff as terminal tables (stdout): summary, collections, QC failures."""
    from rich.table import Table

    out = stdout_console()
    a, b = f"v{diff.a.release}", f"v{diff.b.release}"

    def fmt(value) -> str:
        return f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)

    summary = Table(title=f"IDC {a} -> {b}")
    for column in ("", a, b, "change"):
        summary.add_column(column, justify="right" if column else "left")
    for measure, va, vb, change in diff.summary_rows():
        summary.add_row(measure, fmt(va), fmt(vb), fmt(change))
    out.print(summary)
    out.print(f"Revised: {diff.revised_method}.")
    if diff.collections_added:
        out.print(f"Collections added ({len(diff.collections_added)}): " + ", ".join(diff.collections_added))
    if diff.collections_removed:
        out.print(f"Collections removed ({len(diff.collections_removed)}): " + ", ".join(diff.collections_removed))
    changed = diff.changed_collections
    table = Table(title=f"Collections that changed: {len(changed)} of {len(diff.collections)} "
                        f"(top {min(top, len(changed))} by change in series)")
    for column in ("collection", "status", f"series {a}", f"series {b}", "added", "removed", "revised",
                   "patients Δ", "instances Δ", "size Δ (GB)"):
        table.add_column(column, justify="left" if column in ("collection", "status") else "right")
    for c in changed[:top]:
        table.add_row(c.collection_id, c.status, fmt(c.series_a), fmt(c.series_b), fmt(c.series_added),
                      fmt(c.series_removed), fmt(c.series_revised), fmt(c.patients_b - c.patients_a),
                      fmt(c.instances_b - c.instances_a), f"{(c.size_mb_b - c.size_mb_a) / 1024:,.1f}")
    out.print(table)
    if diff.qc is None:
        out.print(diff.qc_note)
        return
    totals = diff.qc_totals()
    qc = Table(title=f"QC failures {a} -> {b}: {totals['new']:,} new, {totals['fixed']:,} fixed, "
                     f"{totals['unchanged']:,} unchanged (series x check)")
    for column in ("collection", "suite", "check", "new", "fixed", "unchanged", "fixed: series removed"):
        qc.add_column(column, justify="right" if column in ("new", "fixed", "unchanged", "fixed: series removed") else "left")
    for q in diff.qc[:top * 2]:
        qc.add_row(q.collection_id, q.suite, q.check_name, fmt(q.new), fmt(q.fixed), fmt(q.unchanged),
                   fmt(q.fixed_series_removed))
    out.print(qc)
