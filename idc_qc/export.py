"""Export one built model to parquet or CSV."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IdcQcError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ExportResult:
    rows: int
    out: Path
    warnings: list[str] = field(default_factory=list)
    manifest: Path | None = None  # the run manifest of the build the table came from, if any
    build_id: str | None = None   # the build the rows came from (also in a parquet file's metadata)

    def __int__(self) -> int:  # callers that predate the result type used the row count
        return self.rows


def export_model(db_path: Path, model: str, out: Path) -> ExportResult:
    """Write ``model`` from ``db_path`` to ``out`` (.parquet or .csv); returns the row count.

    The file is written beside ``out`` under a temporary name and renamed when complete, so
    a full disk or Ctrl-C never leaves a truncated file under the name asked for. A parquet
    file names the build it came from (key-value metadata ``idc_qc_build_id``) and its manifest.
    """
    import duckdb

    from .warehouse import open_warehouse

    db_path, out = Path(db_path), Path(out)
    # The model name is spliced into SQL as an identifier: accept only plain names that exist.
    if not _IDENTIFIER.match(model):
        raise IdcQcError(f"{model!r} is not a model name (letters, digits and _ only)")
    suffix = out.suffix.lower()
    if suffix not in {".parquet", ".csv"}:
        raise IdcQcError(f"cannot export to {out.name!r}: the file name must end in .parquet or .csv")
    if out.is_dir():
        raise IdcQcError(f"cannot export to {out}: it is a folder")
    from .database.atomic import atomic_path
    from .database.files import manifest_path

    manifest = manifest_path(db_path) if manifest_path(db_path).is_file() else None
    with open_warehouse(db_path) as wh:
        models = wh.tables()
        if model not in models:
            raise IdcQcError(f"no model {model!r} in {db_path}; built models: {', '.join(models) or 'none'}")
        con = wh.con
        out.parent.mkdir(parents=True, exist_ok=True)
        build_id = wh.record.build_id if wh.record is not None else None
        options = "(format csv, header true)"
        if suffix == ".parquet":
            # The parquet file names its build and manifest itself (key-value metadata); CSV has no place for it.
            named = str(manifest.resolve()).replace("'", "''") if manifest is not None else ""
            options = (f"(format parquet, kv_metadata {{idc_qc_manifest: '{named}', idc_qc_model: '{model}', "
                       f"idc_qc_build_id: '{build_id or ''}'}})")
        if suffix == ".csv":
            # CSV has no lists: write arrays as JSON text so they survive a round trip.
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where table_name = ? order by ordinal_position",
                [model],
            ).fetchall()
            select = ", ".join(
                f'to_json("{name}") as "{name}"' if dtype.endswith("[]") else f'"{name}"' for name, dtype in columns
            )
            query = f'select {select} from "{model}"'
        else:
            query = f'select * from "{model}"'
        try:
            with atomic_path(out) as partial:
                con.execute(f"copy ({query}) to '{str(partial).replace(chr(39), chr(39) * 2)}' {options}")
        except (duckdb.Error, OSError) as exc:
            raise IdcQcError(f"cannot write {out}: {_io_reason(exc)}; nothing was written") from None
        count = con.execute(f'select count(*) from "{model}"').fetchone()[0]
        return ExportResult(rows=int(count), out=out, warnings=list(wh.warnings), manifest=manifest,
                            build_id=build_id)


def _io_reason(exc: Exception) -> str:
    """The reason in an I/O error, without DuckDB's JSON wrapping."""
    import errno

    text = str(exc)
    for code in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT):
        if getattr(exc, "errno", None) == code or os.strerror(code) in text:
            return os.strerror(code).lower()
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
