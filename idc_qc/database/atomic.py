"""The one way idc-qc writes an output file: to a temporary name beside it, then renamed.

A crash, Ctrl-C or a full disk never leaves a truncated file under the name asked for, and a
reader never sees half of one. The finished file gets the mode a plain ``open(..., "w")`` would
have given (``mkstemp`` makes files private; outputs are read by whoever reads the database).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def output_mode() -> int:
    """The mode of a new ordinary file under the process umask (0644 under the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write (by Python, DuckDB's COPY, pyarrow ...);
    renamed over ``path`` when the block ends without an exception, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, output_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_json(path: Path, data: Any, *, indent: int | None = 2) -> Path:
    """``data`` as JSON (values JSON cannot hold written with ``str``), newline-terminated."""
    return write_text(path, json.dumps(data, indent=indent, default=str) + "\n")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 (hex) of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
