"""DICOM files on disk: walking folders (no symlink loops) and reading one file's header.

:func:`walk` yields every regular file under the paths given, once each (a file reached
through two links is read once), and notes what it did not walk (a symlink loop, a folder it
may not list, a broken link). :func:`read_file` reads one file's header with pydicom, never
the pixel data, and classifies the outcome: read, skipped (not DICOM, DICOMDIR) or failed
(empty, truncated, permission denied, ...). Neither raises for bad input.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: Outcome of one file.
READ, SKIPPED, FAILED = "read", "skipped", "failed"
#: Kinds of errors-table row (docs/ingest.md, "The errors table").
NOT_DICOM, DICOMDIR, FILE_FAILED, VALUE, DUPLICATE, WALK = (
    "not_dicom", "dicomdir", "failed", "unreadable_value", "duplicate_sop_instance", "walk")

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
#: os.DirEntry.stat() gives the device and inode (which find a file reached twice) on POSIX only
_ENTRY_STAT_HAS_INODE = os.name == "posix"

class FoundFile(NamedTuple):  # a tuple: made once per file found, a rerun makes nothing else
    path: str          # absolute, as reached (links not resolved)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class WalkNote:
    """Something the walk did not follow or could not list (an errors-table row)."""

    path: str
    kind: str
    reason: str
    counts_as_file: bool = False   # a broken link is a file found that failed


@dataclass
class Outcome:
    """What reading one file gave."""

    path: str
    status: str                     # READ, SKIPPED or FAILED
    kind: str | None = None         # errors-table kind when not READ
    reason: str | None = None
    row: dict[str, Any] | None = None
    problems: list = field(default_factory=list)


def walk(paths: list[str]) -> Iterator[FoundFile | WalkNote]:
    """Every regular file under ``paths`` (files or folders), depth first, sorted by name.

    Symbolic links are followed, but a folder already walked (the same device and inode) is
    not walked again: a link back to an ancestor is a loop, noted and skipped. A file reached
    twice (two links, or a path given twice) is yielded once.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()

    def file_entry(path: str, st: os.stat_result) -> FoundFile | None:
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            return None
        seen_files.add(key)
        return FoundFile(path, st.st_size, st.st_mtime_ns)

    def walk_dir(path: str, st: os.stat_result, ancestors: tuple[tuple[int, int], ...]) -> Iterator:
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            yield WalkNote(path, WALK, "symlink loop: this folder links back to one of its parents; not followed")
            return
        if key in seen_dirs:
            return  # the same folder reached through another link: walked once
        seen_dirs.add(key)
        if path.lower().endswith((".dcm", ".dicom")):
            yield WalkNote(path, WALK, "a folder named like a DICOM file: walked as a folder")
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            yield WalkNote(path, WALK, "cannot list folder: permission denied; its files were not read")
            return
        except OSError as exc:
            yield WalkNote(path, WALK, f"cannot list folder: {exc.strerror or exc}; its files were not read")
            return
        inner = (*ancestors, key)
        for entry in entries:
            try:  # a plain file (not a link) is the common case: its type is known without a stat
                plain_file = _ENTRY_STAT_HAS_INODE and entry.is_file(follow_symlinks=False)
            except OSError:
                plain_file = False
            if plain_file:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    yield from walk_one(entry.path, inner)  # says what is wrong with it
                    continue
                found = file_entry(entry.path, st)
                if found is not None:
                    yield found
            else:
                yield from walk_one(entry.path, inner)

    def walk_one(path: str, ancestors: tuple) -> Iterator:
        try:
            st = os.stat(path)  # follows links
        except FileNotFoundError:
            if os.path.islink(path):
                yield WalkNote(path, FILE_FAILED, "broken symbolic link: its target does not exist", True)
            return
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: a link pointing at itself, directly or through others
                yield WalkNote(path, WALK, "symlink loop: the link resolves to itself; not followed")
            else:
                yield WalkNote(path, FILE_FAILED, f"cannot stat: {exc.strerror or exc}", True)
            return
        if stat.S_ISDIR(st.st_mode):
            yield from walk_dir(path, st, ancestors)
        elif stat.S_ISREG(st.st_mode):
            entry = file_entry(path, st)
            if entry is not None:
                yield entry
        # sockets, FIFOs and devices are not files to read

    for given in paths:
        yield from walk_one(os.path.abspath(given), ())


def _text(ds, tag: int) -> str:
    """One text value of a pydicom or fast data set ('' when absent)."""
    if ds is None or tag not in ds:
        return ""
    value = ds.get_item(tag).value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_file(path: str, fast: bool = True) -> Outcome:
    """Read one file's header (everything before the pixel data) and classify the outcome.

    Little-endian files with a preamble are read by :mod:`.fastread` (``fast``), the rest,
    and whatever it leaves, by ``pydicom.dcmread(stop_before_pixels=True)``; both give the
    same row."""
    from .fastread import FIRST_READ, read_fast_open

    try:
        handle = open(path, "rb")
    except PermissionError:
        return Outcome(path, FAILED, FILE_FAILED, "permission denied")
    except IsADirectoryError:
        return Outcome(path, SKIPPED, NOT_DICOM, "a folder, not a file")
    except OSError as exc:
        return Outcome(path, FAILED, FILE_FAILED, f"cannot open: {exc.strerror or exc}")
    quick = None
    with handle:
        try:
            buf = handle.read(FIRST_READ if fast else 132)
        except OSError as exc:
            return Outcome(path, FAILED, FILE_FAILED, f"cannot read: {exc.strerror or exc}")
        head = buf[:132]
        if not head:
            return Outcome(path, FAILED, FILE_FAILED, "empty file (0 bytes)")
        has_preamble = len(head) == 132 and head[128:132] == b"DICM"
        if not has_preamble and len(head) < 8:
            return Outcome(path, SKIPPED, NOT_DICOM, f"not DICOM: {len(head)} bytes, no DICOM element fits")
        if os.path.basename(path).upper() == "DICOMDIR":
            return Outcome(path, SKIPPED, DICOMDIR, "DICOMDIR (an index of a media's files, not an instance): "
                                                    "skipped; its folder's files are read directly")
        if has_preamble and fast:
            try:
                quick = read_fast_open(handle, buf)
            except OSError:
                quick = None  # pydicom reads it again and says what is wrong
    if quick is not None:
        ds, meta = quick
    else:
        import pydicom
        from pydicom.errors import InvalidDicomError

        try:
            # force only without the preamble: such a file is DICOM if it parses to an instance
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=not has_preamble)
        except InvalidDicomError as exc:
            return Outcome(path, SKIPPED, NOT_DICOM, f"not DICOM: {_one_line(exc)}")
        except PermissionError:
            return Outcome(path, FAILED, FILE_FAILED, "permission denied")
        except MemoryError:
            return Outcome(path, FAILED, FILE_FAILED, "corrupt header: an element claims more bytes than memory holds")
        except Exception as exc:  # noqa: BLE001 - every reader failure is a classified row
            if not has_preamble:
                return Outcome(path, SKIPPED, NOT_DICOM, "not DICOM: no 'DICM' after a 128-byte preamble, and no "
                                                        f"DICOM data set at the start ({type(exc).__name__})")
            return Outcome(path, FAILED, FILE_FAILED, f"truncated or corrupt header: {type(exc).__name__}: "
                                                      f"{_one_line(exc)}")
        meta = getattr(ds, "file_meta", None)
    sop_class = _text(meta, 0x00020002)
    if sop_class == DICOMDIR_SOP_CLASS or 0x00041220 in ds:
        return Outcome(path, SKIPPED, DICOMDIR, "DICOMDIR (an index of a media's files, not an instance): skipped")
    if len(ds) == 0 or not (0x00080016 in ds or 0x00080018 in ds or sop_class):
        if has_preamble:
            return Outcome(path, FAILED, FILE_FAILED, "not an instance, or its header is truncated: no SOPClassUID "
                                                      "or SOPInstanceUID read")
        return Outcome(path, SKIPPED, NOT_DICOM, "not DICOM: no 'DICM' after a 128-byte preamble, and what parses "
                                                "holds no SOPClassUID or SOPInstanceUID")
    from .dataset import dataset_row

    try:
        row, problems = dataset_row(ds, meta)
    except Exception as exc:  # noqa: BLE001 - pydicom reads lazily: a corrupt header fails here as any error, a classified row
        return Outcome(path, FAILED, FILE_FAILED, f"truncated or corrupt header: {type(exc).__name__}: "
                                                  f"{_one_line(exc)}")
    return Outcome(path, READ, row=row, problems=problems)
