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
from collections import namedtuple

#: Outcome of one file.
READ, SKIPPED, FAILED = "read", "skipped", "failed"
#: Kinds of errors-table row (docs/ingest.md, "The errors table").
NOT_DICOM, DICOMDIR, FILE_FAILED, VALUE, DUPLICATE, WALK = (
    "not_dicom", "dicomdir", "failed", "unreadable_value", "duplicate_sop_instance", "walk")

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
#: os.DirEntry.stat() gives the device and inode (which find a file reached twice) on POSIX only
_ENTRY_STAT_HAS_INODE = os.name == "posix"

# Tuples made with collections.namedtuple (not typing.NamedTuple): a rerun with nothing changed
# imports this module before anything else, and `typing` alone would cost it 4 ms (docs/ingest.md).

#: One file the walk found: path (absolute, as reached: links not resolved), size, mtime_ns.
#: A tuple: made once per file found, and a rerun makes nothing else.
FoundFile = namedtuple("FoundFile", "path size mtime_ns")

#: Something the walk did not follow or could not list (an errors-table row): path, kind, reason,
#: and counts_as_file (a broken link is a file found that failed).
WalkNote = namedtuple("WalkNote", "path kind reason counts_as_file", defaults=(False,))

#: What reading one file gave: path, status (READ, SKIPPED or FAILED), kind and reason (the
#: errors-table row when not READ), row (the instance's dict when READ) and problems (its
#: unreadable values).
Outcome = namedtuple("Outcome", "path status kind reason row problems", defaults=(None, None, None, ()))


def walk(paths: list[str]) -> list[FoundFile | WalkNote]:
    """Every regular file under ``paths`` (files or folders), depth first, sorted by name, and
    the notes, in the order met.

    Symbolic links are followed, but a folder already walked (the same device and inode) is
    not walked again: a link back to an ancestor is a loop, noted and skipped. A file reached
    twice (two links, or a path given twice) is listed once. (One list, filled by plain loops:
    a rerun with nothing changed is mostly this walk, and chained generators cost it a third.)
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    items: list[FoundFile | WalkNote] = []
    add = items.append

    def add_file(path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key not in seen_files:
            seen_files.add(key)
            add(FoundFile(path, st.st_size, st.st_mtime_ns))

    def walk_dir(path: str, st: os.stat_result, ancestors: tuple[tuple[int, int], ...]) -> None:
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            add(WalkNote(path, WALK, "symlink loop: this folder links back to one of its parents; not followed"))
            return
        if key in seen_dirs:
            return  # the same folder reached through another link: walked once
        seen_dirs.add(key)
        if path.lower().endswith((".dcm", ".dicom")):
            add(WalkNote(path, WALK, "a folder named like a DICOM file: walked as a folder"))
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            add(WalkNote(path, WALK, "cannot list folder: permission denied; its files were not read"))
            return
        except OSError as exc:
            add(WalkNote(path, WALK, f"cannot list folder: {exc.strerror or exc}; its files were not read"))
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
                    walk_one(entry.path, inner)  # says what is wrong with it
                    continue
                add_file(entry.path, st)
            else:
                walk_one(entry.path, inner)

    def walk_one(path: str, ancestors: tuple) -> None:
        try:
            st = os.stat(path)  # follows links
        except FileNotFoundError:
            if os.path.islink(path):
                add(WalkNote(path, FILE_FAILED, "broken symbolic link: its target does not exist", True))
            return
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: a link pointing at itself, directly or through others
                add(WalkNote(path, WALK, "symlink loop: the link resolves to itself; not followed"))
            else:
                add(WalkNote(path, FILE_FAILED, f"cannot stat: {exc.strerror or exc}", True))
            return
        if stat.S_ISDIR(st.st_mode):
            walk_dir(path, st, ancestors)
        elif stat.S_ISREG(st.st_mode):
            add_file(path, st)
        # sockets, FIFOs and devices are not files to read

    for given in paths:
        walk_one(os.path.abspath(given), ())
    return items


def walk_inputs(paths: list[str], out: str) -> tuple[dict[str, FoundFile], list[WalkNote]]:
    """:func:`walk` over ``paths`` without what lies under the output folder ``out`` (absolute):
    the files found by path, and the notes."""
    out_prefix = out + os.sep
    found: dict[str, FoundFile] = {}
    notes: list[WalkNote] = []
    for item in walk(paths):
        if item.path.startswith(out_prefix):
            continue
        if type(item) is WalkNote:
            notes.append(item)
        else:
            found[item.path] = item
    return found, notes


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
