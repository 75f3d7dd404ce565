"""`idc-qc ingest`: folders of DICOM files -> instance metadata in IDC's dicom_all shape."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import IdcQcError
from ..paths import DEFAULT_INGEST_DIR
from .app import console
from .ingest_rerun import summary_lines


def ingest(
    paths: Annotated[list[str], typer.Argument(
        help="DICOM files and folders (read recursively; files with or without the 128-byte preamble), "
             "or one DICOMweb base URL (http(s)://host/dicom-web) with --study, --series, --cohort or --all.",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: instances/part-*.parquet, errors.parquet, files.parquet, "
                            "ingest_manifest.json. A rerun into it reads only new and changed files.")] = DEFAULT_INGEST_DIR,
    collection: Annotated[str | None, typer.Option(
        "--collection", "-c", help="IDC collection_id to write on every row (NULL when omitted).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", help="Processes reading files in parallel (default: the number of cores), or "
                                "parallel requests to a DICOMweb server (default 4).",
        rich_help_panel="Performance")] = None,
    study: Annotated[list[str] | None, typer.Option(
        "--study", help="DICOMweb: read every series of this StudyInstanceUID (repeatable).",
        rich_help_panel="DICOMweb", show_default=False)] = None,
    series: Annotated[list[str] | None, typer.Option(
        "--series", help="DICOMweb: read this SeriesInstanceUID (repeatable).", rich_help_panel="DICOMweb",
        show_default=False)] = None,
    cohort: Annotated[Path | None, typer.Option(
        "--cohort", help="DICOMweb: read the series of this `idc-qc cohort create` manifest (JSON); their "
                         "collection_id comes from it.", rich_help_panel="DICOMweb", show_default=False)] = None,
    all_series: Annotated[bool, typer.Option(
        "--all", help="DICOMweb: read every series the server lists (QIDO-RS, paged).",
        rich_help_panel="DICOMweb")] = False,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", help="DICOMweb: a file holding a bearer token (else IDC_QC_DICOMWEB_TOKEN, or "
                             "IDC_QC_DICOMWEB_USER and IDC_QC_DICOMWEB_PASSWORD for basic auth). Never printed "
                             "or written.", rich_help_panel="DICOMweb", show_default=False)] = None,
    password_file: Annotated[Path | None, typer.Option(
        "--password-file", help="DICOMweb: a file holding the basic-auth password of IDC_QC_DICOMWEB_USER.",
        rich_help_panel="DICOMweb", show_default=False)] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", help="DICOMweb: seconds to wait for each response.", rich_help_panel="DICOMweb")] = 30.0,
    retries: Annotated[int, typer.Option(
        "--retries", help="DICOMweb: tries again after a 429, a 5xx, a timeout or a lost connection, with "
                          "exponential backoff.", rich_help_panel="DICOMweb")] = 3,
) -> None:
    """Read DICOM headers (never pixel data) into parquet shaped like IDC's dicom_all.

    Every standard attribute becomes a column named by its keyword (multi-valued ones as lists
    of strings, numbers typed as IDC types them), sequences JSON text, private elements in
    OtherElements, plus instance_size, source_path and collection_id (docs/ingest.md). Files
    that are not DICOM, cannot be read, DICOMDIRs (skipped), unreadable values, symlink loops
    and a SOPInstanceUID held by two files are rows of errors.parquet, never a stop. A rerun
    skips files with the same path, size and modification time, rereads changed ones and
    drops removed ones.

    From a DICOMweb server (a PACS, Orthanc, Google's or Azure's DICOM store, IDC's proxy):
    QIDO-RS lists the series, WADO-RS reads their metadata (never pixel data) into the same
    columns; failed requests are rows of errors.parquet with the URL; a rerun reads only new,
    changed or failed series (docs/dicomweb.md).

    Example: idc-qc ingest /data/dicom -o build/ingest --collection my_site && idc-qc build --instances build/ingest

    Example: IDC_QC_DICOMWEB_TOKEN=$(gcloud auth print-access-token) idc-qc ingest https://healthcare.googleapis.com/v1/projects/P/locations/L/datasets/D/dicomStores/S/dicomWeb --study 1.2.3 -o build/ingest
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
    from ..ingest.dicomweb_client import is_url
    from ..ingest.writer import arrow_without_pandas

    arrow_without_pandas()  # this command hands Arrow no pandas objects: 0.3 s less start-up
    if any(is_url(p) for p in paths):
        _ingest_dicomweb(paths, out, collection=collection, workers=workers, study=study or [], series=series or [],
                         cohort=cohort, all_series=all_series, token_file=token_file, password_file=password_file,
                         timeout=timeout, retries=retries)
        return
    if study or series or cohort or all_series or token_file or password_file:
        raise IdcQcError("--study, --series, --cohort, --all, --token-file and --password-file read from a DICOMweb "
                         "server: give its URL (http(s)://host/dicom-web) instead of files")
    check_paths(paths, out)  # before the progress bar: a bad path is one line
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
    for line in summary_lines(result.manifest, out, paint=lambda text, style: f"[{style}]{text}[/]", escape=escape):
        console.print(line)


def _ingest_dicomweb(paths: list[str], out: Path, *, collection, workers, study, series, cohort, all_series,
                     token_file, password_file, timeout: float, retries: int) -> None:
    """`idc-qc ingest URL`: the DICOMweb half (idc_qc/ingest/dicomweb.py)."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..ingest.dicomweb import Selection, ingest_dicomweb
    from ..ingest.dicomweb_client import auth_from_env, check_url

    if len(paths) != 1:
        raise IdcQcError("give one DICOMweb URL, and no files or folders beside it (ingest those into another --out)")
    url = check_url(paths[0])  # refuses credentials in the URL before anything is printed
    if timeout <= 0:
        raise IdcQcError(f"--timeout {timeout:g}: give a number of seconds above 0")
    if retries < 0:
        raise IdcQcError(f"--retries {retries}: give 0 or more")
    if cohort is not None and not cohort.is_file():
        raise IdcQcError(f"--cohort {str(cohort)!r}: no such file; write one with `idc-qc cohort create`")
    credentials = auth_from_env(token_file, password_file)
    selection = Selection(studies=list(study), series=list(series), cohort=cohort, all=all_series)
    with Progress(TextColumn("reading DICOMweb metadata"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("series {task.fields[rate]}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("ingest", total=None, rate="")
        started = time.perf_counter()

        def on_progress(done: int, total: int, instances: int) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{instances / elapsed:,.0f} instances/s" if elapsed > 0 and instances else ""
            progress.update(task, completed=done, total=total, rate=rate)

        result = ingest_dicomweb(url, out, selection, credentials=credentials, collection=collection,
                                 workers=workers, timeout=timeout, retries=retries, progress=on_progress)
    console.print(
        f"Listed {result.listed:,} series on {escape(result.server)} = [green]{result.read:,} read[/] + "
        f"[red]{result.failed:,} failed[/]"
        + (f"; this run read {result.series_read_this_run:,} ({result.new:,} new, {result.changed:,} changed, "
           f"{result.retried:,} failed before), {result.unchanged:,} unchanged, {result.removed:,} removed"
           if result.unchanged or result.removed or result.changed or result.retried else ""))
    if result.series_read_this_run:
        console.print(f"  {result.instances_read:,} instances, {result.instances_per_second:,.0f} instances/s with "
                      f"{result.workers} parallel requests, {result.seconds:.1f}s")
    console.print(f"  {result.rows:,} instance rows, {result.columns:,} columns in {result.parts:,} part(s): "
                  f"[bold]{escape(str(result.instances_dir))}[/]")
    if result.errors:
        console.print(f"  [yellow]Errors table:[/] {result.errors:,} rows ({result.failed:,} series failed, "
                      f"{result.listing_problems:,} listing problems, {result.value_problems:,} unreadable values, "
                      f"{result.duplicate_instances:,} duplicate SOPInstanceUIDs): "
                      f"[bold]{escape(str(result.errors_path))}[/]")
    console.print(f"Next: idc-qc build --instances {escape(str(out))}")
