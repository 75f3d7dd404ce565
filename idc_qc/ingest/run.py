"""`idc-qc ingest` as a function: DICOM files -> an ingest output folder (docs/ingest.md).

:func:`ingest` walks the paths, reads the files that are new or changed since the last run in
parallel processes (chunks of paths handed out as workers ask; each worker writes the rows it
read to parquet parts of bounded size and reports their names and files back), and writes the
errors table and the manifest. It never prints; the CLI shows its progress through the
``progress`` callback.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IdcQcError
from . import manifest as mf
from .files import (
    DUPLICATE,
    FAILED,
    READ,
    SKIPPED,
    VALUE,
    FoundFile,
    read_file,
    walk_inputs,
)

#: Files per task sent to a worker process, and rows per parquet part; a part is written sooner
#: when its rows hold more than BYTES_PER_PART in memory (headers with large private blobs), so
#: that each reading process holds a bounded amount whatever its files.
CHUNK_FILES = 64
ROWS_PER_PART = 10_000
BYTES_PER_PART = 48_000_000


@dataclass
class IngestResult:
    out: Path
    instances_dir: Path
    errors_path: Path
    manifest_path: Path
    found: int = 0
    read: int = 0
    skipped: int = 0
    failed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    rows: int = 0
    columns: int = 0
    parts: int = 0
    duplicate_instances: int = 0
    value_problems: int = 0
    walk_notes: int = 0
    workers: int = 1
    seconds: float = 0.0
    files_read_this_run: int = 0
    removed_paths: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)  # as written to ingest_manifest.json (the summary's source)


def _read_chunk(paths: list[tuple[str, int]], collection: str | None):
    """Read a chunk of files: ([(path, status)], [error rows], (instances table or None, frames
    table or None, [paths of the table's rows]))."""
    import warnings

    warnings.simplefilter("ignore")  # pydicom's warnings about what it read leniently: the rows say it
    from .frames import frame_rows

    rows = []
    frames = []
    statuses = []
    errors = []
    for path, size in paths:
        outcome = read_file(path)
        statuses.append((path, outcome.status))
        if outcome.status != READ:
            errors.append({"path": path, "kind": outcome.kind, "reason": outcome.reason})
            continue
        row = outcome.row
        row["collection_id"] = collection
        row["instance_size"] = size
        row["source_path"] = path
        rows.append(row)
        for problem in outcome.problems:
            errors.append({"path": path, "kind": VALUE, "reason": problem.reason, "attribute": problem.attribute,
                           "SOPInstanceUID": row.get("SOPInstanceUID")})
        try:
            frames += frame_rows(row)
        except (ValueError, TypeError, KeyError) as exc:
            errors.append({"path": path, "kind": VALUE, "attribute": "PerFrameFunctionalGroupsSequence",
                           "reason": f"frames not resolved: {type(exc).__name__}: {exc}",
                           "SOPInstanceUID": row.get("SOPInstanceUID")})
    if not rows:
        return statuses, errors, (None, None, [])
    from .frames import frames_table
    from .writer import rows_table

    read = [row["source_path"] for row in rows]
    return statuses, errors, (rows_table(rows), frames_table(frames) if frames else None, read)


def check_paths(paths: list[str], out: str | os.PathLike | None = None) -> None:
    """Refuse, in one line, no paths, a path that does not exist, and a path that is the output
    folder or inside it (the walk leaves the output folder out, so the run would find no file
    and drop every instance of the last run)."""
    if not paths:
        raise IdcQcError("give at least one file or folder of DICOM files to ingest")
    inside = os.path.abspath(out) if out is not None else None
    for path in paths:
        if not os.path.lexists(path):
            raise IdcQcError(f"no such file or folder: {path!r}; give DICOM files or folders holding them")
        given = os.path.abspath(path)
        if inside is not None and (given == inside or given.startswith(inside + os.sep)):
            raise IdcQcError(f"{path!r} is the output folder --out or inside it: give the folders of the DICOM "
                             "files, and --out a folder of its own")


def _prepare_out(out: Path, dicomweb: bool = False) -> None:
    if out.exists() and not out.is_dir():
        raise IdcQcError(f"--out {str(out)!r} is a file; give a folder (created when missing)")
    if out.is_dir() and not mf.is_ingest_output(out) and not _only_parts(out):
        raise IdcQcError(f"--out {str(out)!r} holds files but no {mf.MANIFEST_NAME}: it is not an idc-qc ingest "
                         "output; give an empty or new folder")
    if (mf.read_manifest(out) or {}).get("source") == "dicomweb" and not dicomweb:
        raise IdcQcError(f"--out {str(out)!r} holds an ingest from a DICOMweb server; write the files' ingest to "
                         "another folder")
    (out / mf.INSTANCES_DIR).mkdir(parents=True, exist_ok=True)


def _only_parts(out: Path) -> bool:
    """Whether ``out`` holds nothing but parts: empty, or what a first run stopped before its
    manifest left (its parts are removed as any stopped run's are)."""
    from .writer import PART_PREFIX

    for entry in out.iterdir():
        if entry.name not in (mf.INSTANCES_DIR, mf.FRAMES_DIR) or not entry.is_dir():
            return False
        if any(not f.name.startswith(PART_PREFIX) or not f.is_file() for f in entry.iterdir()):
            return False
    return True


def ingest(
    paths: list[str],
    out: str | os.PathLike,
    *,
    collection: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rows_per_part: int = ROWS_PER_PART,
    chunk_files: int = CHUNK_FILES,
) -> IngestResult:
    """Read the DICOM headers under ``paths`` into ``out`` (incremental; see the module docs)."""
    started = time.perf_counter()
    check_paths(paths, out)
    out = Path(out).absolute()
    _prepare_out(out)
    instances_dir = out / mf.INSTANCES_DIR
    workers = max(1, workers or os.cpu_count() or 1)
    result = IngestResult(out=out, instances_dir=instances_dir, errors_path=out / mf.ERRORS_NAME,
                          manifest_path=out / mf.MANIFEST_NAME, workers=workers)

    previous = mf.read_files(out) if mf.read_manifest(out) is not None else {}
    previous_manifest = mf.read_manifest(out) or {}
    known_parts = set(previous_manifest.get("parts", []))
    frames_dir = out / mf.FRAMES_DIR
    for folder in (instances_dir, frames_dir):
        for part in folder.glob("*.parquet*"):
            if part.name not in known_parts:
                part.unlink()  # left by an interrupted run: its files are read again

    found, notes = walk_inputs(paths, str(out))

    # --- what changed since the last run
    to_read: list[FoundFile] = []
    records: dict[str, mf.FileRecord] = {}
    for path, entry in found.items():
        before = previous.get(path)
        if before is not None and before.size == entry.size and before.mtime_ns == entry.mtime_ns:
            records[path] = before
            result.unchanged += 1
        else:
            to_read.append(entry)
            if before is None:
                result.new += 1
            else:
                result.changed += 1
    broken = [n for n in notes if n.counts_as_file]
    removed = sorted(p for p in previous if p not in found and not any(n.path == p for n in broken))
    result.removed = len(removed)
    result.removed_paths = removed

    # --- read, streamed to new parts (written by whichever process read the rows)
    errors: list[dict] = []
    first_part = 1 + max((n for n in (_number(p) for p in known_parts) if n is not None), default=0)
    new_parts: list[str] = []

    def take(statuses, chunk_errors, written) -> None:
        errors.extend(chunk_errors)
        for path, status in statuses:
            if status != READ:
                records[path] = mf.FileRecord(found[path].size, found[path].mtime_ns, status, None)
        for name, paths_in_part in written:
            new_parts.append(name)
            for path in paths_in_part:
                records[path] = mf.FileRecord(found[path].size, found[path].mtime_ns, READ, name)

    chunks = [[(f.path, f.size) for f in to_read[i:i + chunk_files]] for i in range(0, len(to_read), chunk_files)]
    if progress:
        progress(0, len(to_read))
    advance = (lambda n: progress(n, len(to_read))) if progress else (lambda n: None)
    if workers == 1 or len(chunks) <= 1:
        parts = _Parts(out, rows_per_part, itertools.count(first_part).__next__)
        done = 0
        for chunk in chunks:
            statuses, chunk_errors, read = _read_chunk(chunk, collection)
            take(statuses, chunk_errors, parts.add(*read))
            done += len(chunk)
            advance(done)
        take([], [], parts.flush())
    else:
        _read_in_processes(chunks, collection, min(workers, len(chunks)), out, rows_per_part, first_part, take,
                           advance)
    result.files_read_this_run = len(to_read)

    # --- old parts: drop rows of changed and removed files
    stale = {p for p in removed} | {f.path for f in to_read if f.path in previous}
    parts_after = set(new_parts)
    for part in sorted(known_parts):
        path = instances_dir / part
        if not path.is_file():
            continue
        holds_stale = stale and any(previous[p].part == part for p in stale if p in previous)
        if holds_stale and (frames_dir / part).is_file():
            _drop(frames_dir / part, stale)
        if holds_stale and _drop(path, stale) == 0:
            continue  # every row of the part was stale: the part is gone
        parts_after.add(part)
    part_paths = [instances_dir / p for p in sorted(parts_after)]

    from .writer import unify_parts

    if new_parts or stale:  # nothing read or dropped: the parts are as the last run left them
        unify_parts(part_paths)

    # --- duplicates over every instance row (the last run's, when its parts are all there unchanged)
    import pyarrow.parquet as pq

    previous_errors = mf.read_errors(out)
    counts_before = previous_manifest.get("counts", {})
    parts_as_before = (not new_parts and not stale and parts_after == known_parts
                       and {"instance_rows", "duplicate_sop_instances"} <= set(counts_before)
                       and isinstance(previous_manifest.get("columns"), int))
    if parts_as_before:
        result.rows = counts_before["instance_rows"]
        result.duplicate_instances = counts_before["duplicate_sop_instances"]
        errors.extend(row for row in previous_errors if row["kind"] == DUPLICATE)
    else:
        duplicates, result.rows = _duplicates(part_paths)
        result.duplicate_instances = len(duplicates)
        for uid, holders in duplicates.items():
            for path in holders:
                others = [h for h in holders if h != path]
                errors.append({"path": path, "kind": DUPLICATE, "SOPInstanceUID": uid, "reason":
                               f"SOPInstanceUID also in {len(others)} other file(s): " + ", ".join(others[:3])})

    # --- errors of unchanged files carry over; walk notes and duplicates (unless carried above) are found anew
    reread = {f.path for f in to_read}
    broken_paths = {n.path for n in broken}
    for row in previous_errors:
        carried = row["path"] in records and row["path"] not in reread and row["kind"] not in (DUPLICATE, "walk")
        if carried and (row["kind"] != "failed" or row["path"] not in broken_paths):
            errors.append(row)
    for note in notes:
        errors.append({"path": note.path, "kind": note.kind, "reason": note.reason})
        if note.counts_as_file:
            records[note.path] = mf.FileRecord(0, 0, FAILED, None)

    # --- counts: found = read + skipped + failed
    for record in records.values():
        if record.status == READ:
            result.read += 1
        elif record.status == SKIPPED:
            result.skipped += 1
        else:
            result.failed += 1
    result.found = len(records)
    result.value_problems = sum(1 for e in errors if e["kind"] == VALUE)
    result.walk_notes = sum(1 for n in notes if not n.counts_as_file)
    result.parts = len(part_paths)
    # every part has every column (unify_parts): the first part's schema is the table's
    if parts_as_before:
        result.columns = previous_manifest["columns"]
    else:
        result.columns = len(pq.read_schema(part_paths[0]).names) if part_paths else 0

    # unchanged tables are not written again (a rerun with nothing changed costs a walk and a stat)
    if records != previous:
        mf.write_files(out, records)
    if _error_set(errors) != _error_set(previous_errors) or not result.errors_path.is_file():
        mf.write_errors(out, errors)
    result.seconds = time.perf_counter() - started
    result.manifest = mf.write_manifest(out, {
        "input_kind": "dicom",
        "inputs": [os.path.abspath(p) for p in paths],
        "collection_id": collection,
        "finished": mf.now(),
        "workers": workers,
        "seconds": round(result.seconds, 3),
        "counts": {"found": result.found, "read": result.read, "skipped": result.skipped, "failed": result.failed,
                   "new": result.new, "changed": result.changed, "unchanged": result.unchanged,
                   "removed": result.removed, "instance_rows": result.rows,
                   "duplicate_sop_instances": result.duplicate_instances,
                   "unreadable_values": result.value_problems, "walk_notes": result.walk_notes},
        "removed": removed[:1000],
        "columns": result.columns,
        "parts": sorted(parts_after),
        "fingerprint": mf.fingerprint(paths, out, collection, found, notes),
    })
    return result


def _error_set(rows: list[dict]) -> set[tuple]:
    return {tuple(row.get(name) for name in mf.ERROR_COLUMNS) for row in rows}


def _number(name: str) -> int | None:
    from .writer import part_number

    try:
        return part_number(name)
    except (ValueError, IndexError):
        return None


def _drop(path: Path, stale: set[str]) -> int:
    from .writer import drop_paths

    return drop_paths(path, stale)


def _duplicates(part_paths: list[Path]) -> tuple[dict[str, list[str]], int]:
    import pyarrow.parquet as pq

    holders: dict[str, list[str]] = defaultdict(list)
    rows = 0
    for path in part_paths:
        table = pq.ParquetFile(path).read(columns=["SOPInstanceUID", "source_path"]).to_pydict()
        rows += len(table["source_path"])
        for uid, source in zip(table["SOPInstanceUID"], table["source_path"]):
            if uid:
                holders[uid].append(source)
    return {uid: sorted(paths) for uid, paths in holders.items() if len(paths) > 1}, rows


class _Parts:
    """Instance tables buffered into parts of about ``rows_per_part`` rows (fewer when they hold
    more than BYTES_PER_PART), each written by the process that read its rows; ``next_number``
    gives each part its number."""

    def __init__(self, out: Path, rows_per_part: int, next_number: Callable[[], int]):
        self.out, self.rows_per_part, self.next_number = out, rows_per_part, next_number
        self.tables, self.frames, self.paths, self.rows, self.bytes = [], [], [], 0, 0

    def add(self, table, frames, paths: list[str]) -> list[tuple[str, list[str]]]:
        """Buffer one chunk's tables; returns the part written when the buffer is full: [(name, paths)]."""
        if table is not None:
            self.tables.append(table)
            self.rows += table.num_rows
            self.bytes += table.nbytes
            self.paths += paths
        if frames is not None:
            self.frames.append(frames)
            self.bytes += frames.nbytes
        full = self.rows >= self.rows_per_part or self.bytes >= BYTES_PER_PART
        return self.flush() if full else []

    def flush(self) -> list[tuple[str, list[str]]]:
        if not self.tables:
            return []
        from .writer import write_instances_part

        name = write_instances_part(self.tables, self.frames, self.out, self.next_number())
        written = [(name, self.paths)]
        self.tables, self.frames, self.paths, self.rows, self.bytes = [], [], [], 0, 0
        return written


def _worker(tasks, results, out: Path, collection: str | None, rows_per_part: int, counter) -> None:
    """A reading process: chunks from ``tasks`` until None; after each chunk it sends
    ("chunk", files, statuses, errors, parts written), and ("done", parts written) at the end, or
    ("error", traceback) if something in it broke (the parent stops the run with it)."""
    import traceback

    from .writer import arrow_without_pandas

    def next_number() -> int:
        with counter.get_lock():
            counter.value += 1
            return counter.value - 1

    try:
        arrow_without_pandas()
        parts = _Parts(out, rows_per_part, next_number)
        while (chunk := tasks.get()) is not None:
            statuses, errors, read = _read_chunk(chunk, collection)
            results.put(("chunk", len(chunk), statuses, errors, parts.add(*read)))
        results.put(("done", parts.flush()))
    except KeyboardInterrupt:  # Ctrl-C reaches every process of the group: the command says so, not this one
        raise SystemExit(130) from None
    except BaseException:  # noqa: BLE001 - reported to the parent, which stops the run with it
        results.put(("error", traceback.format_exc()))


def _read_in_processes(chunks, collection, workers, out, rows_per_part, first_part, take, advance) -> None:
    """Read ``chunks`` in ``workers`` processes, each writing the parts of the rows it read (the
    parent never holds or writes rows: no rows through pipes, no serial write at the end)."""
    import multiprocessing
    import queue

    from .writer import prepare_column_types

    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    if context.get_start_method() == "fork":  # import and build the column types once: forked workers inherit them
        import pyarrow  # noqa: F401 - imported once before forking so workers inherit it

        from .fastread import read_fast  # noqa: F401 - the same (pydicom itself is imported only where needed)

        prepare_column_types()  # the dictionary by keyword
        import gc

        gc.freeze()  # the parent's objects out of the workers' garbage collections: no copy-on-write of them
    tasks, results = context.Queue(), context.Queue()
    counter = context.Value("q", first_part)
    processes = [context.Process(target=_worker, args=(tasks, results, out, collection, rows_per_part, counter),
                                 daemon=True) for _ in range(workers)]
    pending = iter(chunks)
    stopped = False

    def feed() -> None:  # the next chunk, or once every chunk is queued, one stop per worker after them
        nonlocal stopped
        chunk = next(pending, None)
        if chunk is not None:
            tasks.put(chunk)
        elif not stopped:
            stopped = True
            for _ in processes:
                tasks.put(None)

    try:
        for process in processes:
            process.start()
        for _ in range(workers * 3):  # bounded: a few chunks per worker queued
            feed()
        done = 0
        finished = 0
        while finished < len(processes):
            try:
                message = results.get(timeout=0.5)
            except queue.Empty:  # a process sends "done" before it ends: one that ended without it was lost
                ended = [p.exitcode for p in processes if p.exitcode is not None]
                if len(ended) > finished:
                    code = next((c for c in ended if c != 0), 0)
                    raise IdcQcError(f"a reading process stopped (exit code {code}; out of memory?): the output "
                                     "is as the last complete run left it; run the same command again") from None
                continue
            kind = message[0]
            if kind == "error":
                raise RuntimeError(f"a reading process failed:\n{message[1]}")
            if kind == "done":
                finished += 1
                take([], [], message[1])
                continue
            _, files, statuses, chunk_errors, written = message
            take(statuses, chunk_errors, written)
            done += files
            advance(done)
            feed()
        for process in processes:
            process.join()
    finally:
        stopped_early = any(p.is_alive() for p in processes)
        for process in processes:
            if process.is_alive():
                process.terminate()
        if stopped_early:  # what is still queued for them is dropped, not waited on at exit
            tasks.cancel_join_thread()
            for process in processes:
                process.join(timeout=5)
        if context.get_start_method() == "fork":
            import gc

            gc.unfreeze()
