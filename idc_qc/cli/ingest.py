"""`idc-qc ingest`: folders of DICOM files -> instance metadata in IDC's dicom_all shape."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import IdcQcError
from .app import console


def ingest(
    paths: Annotated[list[str], typer.Argument(
        help="DICOM files and folders (read recursively; files with or without the 128-byte preamble).",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: instances/part-*.parquet, errors.parquet, files.parquet, "
                            "ingest_manifest.json. A rerun into it reads only new and changed files.")] = Path(
        "build/ingest"),
    collection: Annotated[str | None, typer.Option(
        "--collection", "-c", help="IDC collection_id to write on every row (NULL when omitted).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", help="Processes reading files in parallel (default: the number of cores).",
        rich_help_panel="Performance")] = None,
) -> None:
    """Read DICOM headers (never pixel data) into parquet shaped like IDC's dicom_all.

    Every standard attribute becomes a column named by its keyword (multi-valued ones as lists
    of strings, numbers typed as IDC types them), sequences JSON text, private elements in
    OtherElements, plus instance_size, source_path and collection_id (docs/ingest.md). Files
    that are not DICOM, cannot be read, DICOMDIRs (skipped), unreadable values, symlink loops
    and a SOPInstanceUID held by two files are rows of errors.parquet, never a stop. A rerun
    skips files with the same path, size and modification time, rereads changed ones and
    drops removed ones.

    Example: idc-qc ingest /data/dicom -o build/ingest --collection my_site && idc-qc build --instances build/ingest
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ..ingest.run import check_paths
    from ..ingest.run import ingest as run_ingest

    if workers is not None and workers < 1:
        raise IdcQcError(f"--workers {workers}: give 1 or more processes")
    check_paths(paths)  # before the progress bar: a bad path is one line
    with Progress(TextColumn("reading DICOM headers"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("ingest", total=None, rate="")
        import time

        started = time.perf_counter()

        def on_progress(done: int, total: int) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{done / elapsed:,.0f} files/s" if elapsed > 0 and done else ""
            progress.update(task, completed=done, total=total, rate=rate)

        result = run_ingest(paths, out, collection=collection, workers=workers, progress=on_progress)
    console.print(
        f"Found {result.found:,} files = [green]{result.read:,} read[/] + {result.skipped:,} skipped (not DICOM, "
        f"DICOMDIR) + [red]{result.failed:,} failed[/]"
        + (f"; this run read {result.files_read_this_run:,} ({result.new:,} new, {result.changed:,} changed), "
           f"{result.unchanged:,} unchanged, {result.removed:,} removed" if result.unchanged or result.removed
           or result.changed else "")
    )
    if result.files_read_this_run:
        console.print(f"  {result.files_per_second:,.0f} files/s with {result.workers} process(es), "
                      f"{result.seconds:.1f}s")
    console.print(f"  {result.rows:,} instance rows, {result.columns:,} columns in {result.parts:,} part(s): "
                  f"[bold]{escape(str(result.instances_dir))}[/]")
    problems = [(result.duplicate_instances, "SOPInstanceUIDs held by more than one file"),
                (result.value_problems, "unreadable values (NULL in their row)"),
                (result.walk_notes, "walk notes (symlink loops, unlistable folders)"),
                (result.skipped + result.failed, "files skipped or failed")]
    listed = ", ".join(f"{n:,} {what}" for n, what in problems if n)
    if listed:
        console.print(f"  [yellow]Errors table:[/] {escape(listed)}: [bold]{escape(str(result.errors_path))}[/]")
    console.print(f"Next: idc-qc build --instances {escape(str(out))}")
