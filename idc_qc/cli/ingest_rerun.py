"""`idc-qc ingest` when nothing changed: answered before Typer, Rich and Arrow are imported.

A rerun over the same files into the same folder only walks them and compares the walk with the
manifest's fingerprint (idc_qc/ingest/rerun.py); importing the command line's and the reader's
libraries would cost several times that. :func:`answer` takes the command's arguments as given,
and only the plain forms of the options that decide what is read (paths, --out, --collection,
--workers): anything else (--help, a URL, a DICOMweb option, a typo), and any folder whose
fingerprint differs, goes to the full command (idc_qc/cli/ingest.py), which says what is wrong.

:func:`summary_lines` is the command's closing summary, read from the manifest the run wrote,
whichever of the two ran.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

#: The options this path understands, by every spelling, and what they set.
_OPTIONS = {"-o": "out", "--out": "out", "-c": "collection", "--collection": "collection",
            "-w": "workers", "--workers": "workers"}


def answer(args: list[str]) -> int | None:
    """Exit code of ``idc-qc ingest ARGS`` when nothing changed since the last run (the summary
    printed), or None: then the full command runs."""
    parsed = _parse(args)
    if parsed is None:
        return None
    paths, options = parsed
    from ..ingest.rerun import rerun_if_unchanged
    from ..paths import DEFAULT_INGEST_DIR

    out = options.get("out", str(DEFAULT_INGEST_DIR))
    try:
        workers = int(options["workers"]) if "workers" in options else None
        if workers is not None and workers < 1:
            return None
        manifest = rerun_if_unchanged(paths, out, collection=options.get("collection"), workers=workers)
    except (OSError, ValueError, KeyError, TypeError):  # anything unexpected: the full command decides
        return None
    if manifest is None:
        return None
    for line in summary_lines(manifest, out):
        print(line, file=sys.stderr)
    return 0


def _parse(args: list[str]) -> tuple[list[str], dict[str, str]] | None:
    paths: list[str] = []
    options: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        name, eq, value = arg.partition("=")
        if arg.startswith("-"):
            if name not in _OPTIONS or (eq and not name.startswith("--")) or _OPTIONS[name] in options:
                return None
            if not eq:
                value = next(rest, None)
                if value is None:
                    return None
            options[_OPTIONS[name]] = value
        elif "://" in arg:
            return None  # a DICOMweb URL
        else:
            paths.append(arg)
    return (paths, options) if paths else None


def summary_lines(manifest: dict, out, paint: Callable[[str, str], str] = lambda text, style: text,
                  escape: Callable[[str], str] = str) -> list[str]:
    """The closing summary of a files ingest, from the manifest it wrote: ``paint(text, style)``
    colours a part and ``escape`` makes a path printable, for Rich; plain text by default."""
    from ..ingest.manifest import ERRORS_NAME, INSTANCES_DIR

    c = manifest["counts"]
    folder = str(out)
    read, failed, read_now = f"{c['read']:,} read", f"{c['failed']:,} failed", c["new"] + c["changed"]
    lines = [
        f"Found {c['found']:,} files = {paint(read, 'green')} + {c['skipped']:,} skipped (not DICOM, DICOMDIR) + "
        f"{paint(failed, 'red')}"
        + (f"; this run read {read_now:,} ({c['new']:,} new, {c['changed']:,} changed), "
           f"{c['unchanged']:,} unchanged, {c['removed']:,} removed" if c["unchanged"] or c["removed"] or c["changed"]
           else "")]
    if read_now:
        seconds = manifest["seconds"]
        lines.append(f"  {read_now / seconds if seconds else 0:,.0f} files/s with {manifest['workers']} process(es), "
                     f"{seconds:.1f}s")
    lines.append(f"  {c['instance_rows']:,} instance rows, {manifest['columns']:,} columns in "
                 f"{len(manifest['parts']):,} part(s): {paint(escape(_inside(folder, INSTANCES_DIR)), 'bold')}")
    problems = [(c["duplicate_sop_instances"], "SOPInstanceUIDs held by more than one file"),
                (c["unreadable_values"], "unreadable values (NULL in their row)"),
                (c["walk_notes"], "walk notes (symlink loops, unlistable folders)"),
                (c["skipped"] + c["failed"], "files skipped or failed")]
    listed = ", ".join(f"{n:,} {what}" for n, what in problems if n)
    if listed:
        lines.append(f"  {paint('Errors table:', 'yellow')} {escape(listed)}: "
                     f"{paint(escape(_inside(folder, ERRORS_NAME)), 'bold')}")
    lines.append(f"Next: idc-qc build --instances {escape(folder)}")
    return lines


def _inside(folder: str, name: str) -> str:
    return os.path.join(os.path.abspath(folder), name)
