"""`idc-qc ingest URL`: instance metadata from a DICOMweb server, in the same shape as the file ingest.

What to read is a selection (:class:`Selection`): studies (``--study``), series (``--series``),
an ``idc-qc cohort`` manifest (``--cohort``) or every series the server lists (``--all``).
QIDO-RS lists the series (paged with limit/offset), WADO-RS reads each series' metadata
(``application/dicom+json``), never pixel data. Each instance's DICOM JSON becomes a pydicom
Dataset (:meth:`pydicom.Dataset.from_json`, bulk data left empty; DS and IS keep the text the
server wrote) and goes through the file ingest's row conversion
(:func:`idc_qc.ingest.dataset.dataset_row`), writer, frames, errors table and manifest, so the
parquet has the same columns. ``source_path`` is the instance's WADO-RS URL; ``instance_size``
is NULL (DICOMweb metadata does not give it) and the file meta information (group 0002) is
absent unless the server sends AvailableTransferSyntaxUID, which gives TransferSyntaxUID.

Series are fetched by a bounded thread pool and converted in one forked process per core,
streamed to parquet parts; after every part the
series table (``series.parquet``) and the manifest are written, so an interrupted run continues
where it stopped. A rerun reads only series that are new, changed (another instance count, or
another ``crdc_series_uuid`` in a cohort) or failed last time. A request that fails after its
retries is a row of the errors table (URL, kind, reason); the series read are kept.

The pieces: :mod:`.dicomweb_client` (requests, retries, credentials), :mod:`.dicomweb_listing`
(the selection, QIDO-RS listings, the series table), :mod:`.dicomweb_json` (DICOM JSON -> row).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ..errors import IdcQcError
from . import manifest as mf
from .dicomweb_client import GONE, MALFORMED, Credentials, RequestFailed, Server, value
from .dicomweb_json import instance_row
from .dicomweb_listing import (
    Listed,
    SeriesRecord,
    Selection,
    list_series,
    read_series_table,
    write_series_table,
)
from .files import FAILED, FILE_FAILED, READ, VALUE
SOURCE = "dicomweb"
ROWS_PER_PART = 10_000
WORKERS = 4


@dataclass
class DicomwebResult:
    out: Path
    instances_dir: Path
    errors_path: Path
    manifest_path: Path
    server: str
    listed: int = 0
    read: int = 0
    failed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    retried: int = 0
    removed: int = 0
    instances_read: int = 0
    rows: int = 0
    columns: int = 0
    parts: int = 0
    errors: int = 0
    duplicate_instances: int = 0
    value_problems: int = 0
    listing_problems: int = 0
    workers: int = WORKERS
    seconds: float = 0.0
    series_read_this_run: int = 0

    @property
    def instances_per_second(self) -> float:
        return self.instances_read / self.seconds if self.seconds else 0.0


# ----------------------------------------------------------------------------------------------
# one series: fetched in a thread, converted in a process


def _failed(listed: Listed, path: str, kind: str, reason: str) -> dict:
    return {"listed": listed, "status": FAILED, "table": None, "frames": None, "instances": 0,
            "errors": [{"path": path, "kind": kind, "reason": reason}]}


def fetch_series(server: Server, listed: Listed) -> dict:
    """GET one series' metadata (in a reading thread): {"body": bytes, "shown": url} or a failed result."""
    try:
        shown, body = server.get(listed.url + "/metadata")
    except RequestFailed as failure:
        return _failed(listed, failure.url, failure.kind, failure.reason)
    return {"listed": listed, "shown": shown, "body": body}


def convert_series(listed: Listed, shown: str, body: bytes) -> dict:
    """One series' metadata body -> its rows as Arrow tables (in a worker process or a thread).
    Never raises for a bad answer: it is a failed result with errors rows."""
    import warnings

    warnings.simplefilter("ignore")  # pydicom's notes on what it read leniently: the rows say it
    try:
        return _convert_series(listed, shown, body)
    except Exception as exc:  # noqa: BLE001 - one series that cannot be converted is an errors row, not a stop
        return _failed(listed, shown, FILE_FAILED, f"not converted: {type(exc).__name__}: {str(exc)[:200]}")


def read_series(server: Server, listed: Listed) -> dict:
    """Fetch and convert one series in this thread (the sequential path)."""
    fetched = fetch_series(server, listed)
    return fetched if "body" not in fetched else convert_series(listed, fetched["shown"], fetched["body"])


def _convert_series(listed: Listed, shown: str, body: bytes) -> dict:
    from .dicomweb_client import parse_json
    from .frames import frame_rows, frames_table
    from .writer import rows_table

    errors: list[dict] = []
    try:
        items = parse_json(body, shown)
    except RequestFailed as failure:
        return _failed(listed, failure.url, failure.kind, failure.reason)
    if not isinstance(items, list) or any(not isinstance(i, dict) for i in items):
        return _failed(listed, shown, MALFORMED, "not DICOM JSON: the metadata is not a list of objects")
    if not items:
        return _failed(listed, shown, GONE, "the series' metadata lists no instances (emptied since it was listed?)")
    rows, frames = [], []
    for number, item in enumerate(items):
        sop = value(item, "00080018")
        url = f"{listed.url}/instances/{sop}" if sop else f"{listed.url}/metadata#{number}"
        try:
            row, problems = instance_row(item)
        except Exception as exc:  # noqa: BLE001 - one instance the server describes badly is a row, not a stop
            errors.append({"path": url, "kind": FILE_FAILED, "SOPInstanceUID": str(sop) if sop else None,
                           "reason": f"DICOM JSON not readable: {type(exc).__name__}: {str(exc)[:200]}"})
            continue
        row["collection_id"] = listed.collection
        row["instance_size"] = None
        row["source_path"] = url
        rows.append(row)
        for problem in problems:
            errors.append({"path": url, "kind": VALUE, "reason": problem.reason, "attribute": problem.attribute,
                           "SOPInstanceUID": row.get("SOPInstanceUID")})
        try:
            frames += frame_rows(row)
        except (ValueError, TypeError, KeyError) as exc:
            errors.append({"path": url, "kind": VALUE, "attribute": "PerFrameFunctionalGroupsSequence",
                           "reason": f"frames not resolved: {type(exc).__name__}: {exc}",
                           "SOPInstanceUID": row.get("SOPInstanceUID")})
    return {"listed": listed, "status": READ if rows else FAILED, "instances": len(rows), "errors": errors,
            "table": rows_table(rows) if rows else None, "frames": frames_table(frames) if frames else None}


# ----------------------------------------------------------------------------------------------
# the run


def ingest_dicomweb(
    url: str,
    out: str | os.PathLike,
    selection: Selection,
    *,
    credentials: Credentials | None = None,
    collection: str | None = None,
    workers: int | None = None,
    processes: int | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 0.5,
    progress: Callable[[int, int, int], None] | None = None,
    rows_per_part: int = ROWS_PER_PART,
) -> DicomwebResult:
    """Read the selected series' metadata from the DICOMweb server at ``url`` into ``out``."""
    from .run import _duplicates, _error_set, _number, _prepare_out

    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if selection.empty():
        raise IdcQcError("say what to read from the server: --study UID, --series UID, --cohort MANIFEST or --all")
    workers = max(1, workers or WORKERS)
    processes = max(1, processes if processes is not None else (os.cpu_count() or 1))
    out = Path(out).absolute()
    previous_manifest = mf.read_manifest(out) or {}
    if previous_manifest and previous_manifest.get("source") != SOURCE:
        raise IdcQcError(f"--out {str(out)!r} holds an ingest of DICOM files; write the DICOMweb ingest to "
                         "another folder")
    _prepare_out(out, dicomweb=True)
    instances_dir, frames_dir = out / mf.INSTANCES_DIR, out / mf.FRAMES_DIR
    known_parts = set(previous_manifest.get("parts", []))
    for folder in (instances_dir, frames_dir):
        for part in folder.glob("*.parquet*"):
            if part.name not in known_parts:
                part.unlink()  # left by an interrupted run: its series are read again

    with Server(url, credentials, timeout=timeout, retries=retries, backoff=backoff, connections=workers) as server:
        result = DicomwebResult(out=out, instances_dir=instances_dir, errors_path=out / mf.ERRORS_NAME,
                                manifest_path=out / mf.MANIFEST_NAME, server=server.url, workers=workers)
        if previous_manifest and previous_manifest.get("server") != server.url:
            raise IdcQcError(f"--out {str(out)!r} holds an ingest from another server "
                             f"({previous_manifest.get('server')}); give another folder")
        listed, listing_errors = list_series(server, selection)
        if collection is not None:
            listed = [replace(item, collection=collection) for item in listed]
        result.listed = len(listed)
        result.listing_problems = len(listing_errors)

        previous = {u: r for u, r in read_series_table(out).items() if r.part is None or r.part in known_parts}
        to_read: list[Listed] = []
        records: dict[str, SeriesRecord] = {}
        for item in listed:
            before = previous.get(item.url)
            if before is not None and before.status == READ and before.token == item.token:
                records[item.url] = before
                result.unchanged += 1
                continue
            to_read.append(item)
            if before is None:
                result.new += 1
            elif before.status == READ:
                result.changed += 1
            else:
                result.retried += 1
        listed_urls = {item.url for item in listed}
        # a listing that failed lists nothing: keep what earlier runs read rather than drop it
        removed = [] if listing_errors and any(e["kind"] != GONE for e in listing_errors) else sorted(
            u for u in previous if u not in listed_urls)
        for u in previous:
            if u not in listed_urls and u not in removed:
                records[u] = previous[u]
        result.removed = len(removed)

        # --- read, streamed to new parts; a checkpoint after each part
        errors: list[dict] = []
        next_part = 1 + max((n for n in (_number(p) for p in known_parts) if n is not None), default=0)
        pending, pending_frames, pending_series = [], [], []
        pending_rows = 0
        parts_now = set(known_parts)

        def checkpoint() -> None:
            write_series_table(out, records)
            _write_manifest(out, result, server, selection, started_at, started, sorted(parts_now), final=False)

        def flush() -> None:
            nonlocal pending, pending_frames, pending_series, pending_rows, next_part
            if not pending:
                return
            from .writer import write_instances_part

            name = write_instances_part(pending, pending_frames, out, next_part)
            next_part += 1
            parts_now.add(name)
            for item, n in pending_series:
                records[item.url] = SeriesRecord(item.study, item.token, READ, name, n)
            pending, pending_frames, pending_series, pending_rows = [], [], [], 0
            checkpoint()

        def take(done: dict) -> None:
            nonlocal pending_rows
            item: Listed = done["listed"]
            errors.extend(done["errors"])
            result.instances_read += done["instances"]
            if done["table"] is None:
                records[item.url] = SeriesRecord(item.study, item.token, FAILED, None, 0)
                return
            pending.append(done["table"])
            if done["frames"] is not None:
                pending_frames.append(done["frames"])
            pending_series.append((item, done["instances"]))
            pending_rows += done["table"].num_rows
            if pending_rows >= rows_per_part:
                flush()

        if progress:
            progress(0, len(to_read), 0)
        done_count = 0

        def finished(done: dict) -> None:
            nonlocal done_count
            take(done)
            done_count += 1
            if progress:
                progress(done_count, len(to_read), result.instances_read)

        _read_all(server, to_read, workers, processes, finished)
        flush()
        result.series_read_this_run = len(to_read)

        # --- old parts: drop the rows of changed, re-read and removed series
        stale_series = set(removed) | {i.url for i in to_read if i.url in previous}
        stale_parts = {previous[u].part for u in stale_series if u in previous and previous[u].part}
        for u in removed:
            records.pop(u, None)
        parts_after = set(parts_now)
        for part in sorted(stale_parts & known_parts):
            path = instances_dir / part
            if not path.is_file():
                parts_after.discard(part)
                continue
            stale = _instance_urls(path, stale_series)
            if (frames_dir / part).is_file():
                from .writer import drop_paths

                drop_paths(frames_dir / part, stale)
            from .writer import drop_paths

            if drop_paths(path, stale) == 0:
                parts_after.discard(part)
        part_paths = [instances_dir / p for p in sorted(parts_after) if (instances_dir / p).is_file()]
        parts_after = {p.name for p in part_paths}

        from .writer import unify_parts

        if result.series_read_this_run or stale_series:
            unify_parts(part_paths)
        duplicates, rows = _duplicates(part_paths)
        result.rows = rows
        result.duplicate_instances = len(duplicates)
        for uid, holders in duplicates.items():
            for path in holders:
                others = [h for h in holders if h != path]
                errors.append({"path": path, "kind": "duplicate_sop_instance", "SOPInstanceUID": uid,
                               "reason": f"SOPInstanceUID also at {len(others)} other URL(s): " + ", ".join(others[:3])})

        # --- errors of series not read again carry over; listing problems are found anew
        reread = {i.url for i in to_read}
        previous_errors = mf.read_errors(out)
        for row in previous_errors:
            owner = _series_of(row["path"], records)
            if owner is not None and owner not in reread and owner not in removed \
                    and row["kind"] != "duplicate_sop_instance":
                errors.append(row)
        errors.extend(listing_errors)

        for record in records.values():
            if record.status == READ:
                result.read += 1
            else:
                result.failed += 1
        result.errors = len(errors)
        result.value_problems = sum(1 for e in errors if e["kind"] == VALUE)
        result.parts = len(part_paths)
        import pyarrow.parquet as pq

        result.columns = len(pq.read_schema(part_paths[0]).names) if part_paths else 0
        write_series_table(out, records)
        if _error_set(errors) != _error_set(previous_errors) or not result.errors_path.is_file():
            mf.write_errors(out, errors)
        result.seconds = time.perf_counter() - started
        _write_manifest(out, result, server, selection, started_at, started, sorted(parts_after), final=True,
                        removed=removed, collection=collection)
    return result


def _read_all(server: Server, to_read: list[Listed], workers: int, processes: int,
              finished: Callable[[dict], None]) -> None:
    """Fetch in ``workers`` threads, convert in ``processes`` forked processes (in the threads when
    1); ``finished`` gets each series' result in the calling thread. Bounded: a few series per
    thread and process in flight."""
    import warnings
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    queue = iter(to_read)
    fetching: dict = {}
    converting: dict = {}
    limit = 2 * (workers + processes)
    with warnings.catch_warnings(), _process_pool(processes if len(to_read) > 1 else 1) as converters, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dicomweb") as fetchers:
        warnings.simplefilter("ignore")  # pydicom's notes on what it read leniently: the rows say it
        task = fetch_series if converters is not None else read_series

        def submit() -> None:
            while len(fetching) + len(converting) < limit:
                item = next(queue, None)
                if item is None:
                    return
                fetching[fetchers.submit(task, server, item)] = item

        submit()
        while fetching or converting:
            done, _ = wait([*fetching, *converting], return_when=FIRST_COMPLETED)
            for future in done:
                if future in fetching:
                    fetching.pop(future)
                    answer = future.result()
                    if "body" in answer:
                        converting[converters.submit(convert_series, answer["listed"], answer["shown"],
                                                     answer["body"])] = answer["listed"]
                    else:
                        finished(answer)
                else:
                    converting.pop(future)
                    finished(future.result())
            submit()


class _process_pool:
    """A fork-context process pool whose processes all start before any reading thread (a fork
    with threads running may copy a held lock), or None for 1 process."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool = None

    def __enter__(self):
        if self.processes <= 1 or os.name != "posix":
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import pydicom  # noqa: F401 - imported once before forking so the processes inherit it

        from .writer import rows_table

        rows_table([{"SOPInstanceUID": "1"}])  # the column types and pyarrow's first conversion, once
        self.pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=multiprocessing.get_context("fork"))
        for future in [self.pool.submit(os.getpid) for _ in range(self.processes)]:
            future.result()  # every process forked now
        return self.pool

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _instance_urls(part: Path, series_urls: set[str]) -> set[str]:
    import pyarrow.parquet as pq

    paths = pq.ParquetFile(part).read(columns=["source_path"]).column("source_path").to_pylist()
    prefixes = tuple(u + "/" for u in series_urls)
    return {p for p in paths if p and p.startswith(prefixes)}


def _series_of(path: str, records: dict[str, SeriesRecord]) -> str | None:
    """The series URL an errors row belongs to (its URL starts with it), or None."""
    for suffix in ("/metadata", "/instances/"):
        if suffix in path:
            head = path.split(suffix)[0]
            return head if head in records else None
    return path if path in records else None


def _write_manifest(out: Path, result: DicomwebResult, server: Server, selection: Selection, started_at: str,
                    started: float, parts: list[str], *, final: bool, removed: list[str] | None = None,
                    collection: str | None = None) -> None:
    query = selection.as_dict()
    if selection.cohort:
        query["cohort_sha256"] = hashlib.sha256(Path(selection.cohort).read_bytes()).hexdigest()
    mf.write_manifest(out, {
        "input_kind": "dicom",
        "source": SOURCE,
        "inputs": [server.url],
        "server": server.url,            # never with credentials (check_url refuses them)
        "auth": server.credentials.describe.split(" from ")[0],
        "query": query,
        "collection_id": collection,
        "started": started_at,
        "finished": datetime.now(UTC).isoformat(timespec="seconds") if final else None,
        "complete": final,
        "workers": result.workers,
        "timeout_seconds": server.timeout,
        "retries": server.retries,
        "seconds": round(time.perf_counter() - started, 3),
        # read: instance rows (as the file ingest's files read); failed: series that could not be read
        "counts": {"series_listed": result.listed, "series_read": result.read, "series_failed": result.failed,
                   "read": result.rows, "failed": result.failed, "skipped": 0,
                   "new": result.new, "changed": result.changed, "retried": result.retried,
                   "unchanged": result.unchanged, "removed": result.removed,
                   "instances_read_this_run": result.instances_read, "instance_rows": result.rows,
                   "duplicate_sop_instances": result.duplicate_instances,
                   "unreadable_values": result.value_problems, "listing_problems": result.listing_problems},
        "removed": (removed or [])[:1000],
        "columns": result.columns,
        "parts": parts,
    })

