"""Export one built model to parquet or CSV, all of it or a selection of its rows.

A selection (``--collection``, ``--modality``, ``--where``; :mod:`idc_qc.query.selection`, the
same type and case rules as upset, bias and cohort) is read on the contained connection
(:func:`idc_qc.query.run.contained`: read-only, no file but the warehouse's inputs) and
streamed as Arrow batches to a separate in-memory connection that writes the file; the
whole table is copied by the warehouse's own connection as before.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import IdcQcError
from .provenance import read_build_context

if TYPE_CHECKING:
    from .query.selection import Selection

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ExportResult:
    rows: int
    out: Path
    warnings: list[str] = field(default_factory=list)
    manifest: Path | None = None  # the run manifest of the build the table came from, if any
    build_id: str | None = None   # the build the rows came from (also in a parquet file's metadata)
    input_kind: str = "unknown"   # what the build read (rpt_build_context); synthetic is said in the file too

    def __int__(self) -> int:  # callers that predate the result type used the row count
        return self.rows


def export_model(db_path: Path, model: str, out: Path, *, selection: Selection | None = None) -> ExportResult:
    """Write ``model`` from ``db_path`` to ``out`` (.parquet or .csv); returns the row count.

    ``selection``: only its rows (the model must have the columns its filters name).

    The file is written beside ``out`` under a temporary name and renamed when complete, so
    a full disk or Ctrl-C never leaves a truncated file under the name asked for. A parquet
    file names the build it came from (key-value metadata ``idc_qc_build_id``), its manifest
    and the build's input kind (``idc_qc_input_kind``); a CSV of a build on synthetic input
    ends with a column ``idc_qc_input_kind`` = ``synthetic`` on every row, so that the file
    itself says its geometry was made up.
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
    if selection is not None and not selection.empty():
        return _export_selection(db_path, model, out, selection, manifest)
    with open_warehouse(db_path) as wh:
        models = wh.tables()
        if model not in models:
            raise IdcQcError(f"no model {model!r} in {db_path}; built models: {', '.join(models) or 'none'}")
        con = wh.con
        out.parent.mkdir(parents=True, exist_ok=True)
        build_id = wh.record.build_id if wh.record is not None else None
        input_kind = read_build_context(con, wh.record).input_kind
        options = _copy_options(suffix, model, manifest, build_id, input_kind)
        if suffix == ".csv":
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where table_name = ? order by ordinal_position",
                [model],
            ).fetchall()
            query = f'select {_csv_columns([(n, t.endswith("[]")) for n, t in columns], input_kind)} from "{model}"'
        else:
            query = f'select * from "{model}"'
        try:
            with atomic_path(out) as partial:
                con.execute(f"copy ({query}) to '{str(partial).replace(chr(39), chr(39) * 2)}' {options}")
        except (duckdb.Error, OSError) as exc:
            raise IdcQcError(f"cannot write {out}: {_io_reason(exc)}; nothing was written") from None
        count = con.execute(f'select count(*) from "{model}"').fetchone()[0]
        return ExportResult(rows=int(count), out=out, warnings=list(wh.warnings), manifest=manifest,
                            build_id=build_id, input_kind=input_kind)


def _export_selection(db_path: Path, model: str, out: Path, selection: Selection, manifest: Path | None) -> ExportResult:
    """The selected rows of ``model``, read on the contained connection, written by another one."""
    import duckdb

    from .database.atomic import atomic_path
    from .query.run import contained, explain_condition_error, interruptible

    selection.check(columns_of=model, example="\"Modality = 'CT'\"")
    suffix = out.suffix.lower()
    with contained(db_path) as (con, catalog, warnings):
        if model not in catalog.relations or catalog.relations[model].definition:
            models = sorted(n for n, r in catalog.relations.items() if not r.definition)
            raise IdcQcError(f"no model {model!r} in {db_path}; built models: {', '.join(models) or 'none'}")
        from .database.record import read_build_record

        record = read_build_record(con)
        build_id = record.build_id if record is not None else None
        with con.cursor() as cursor:  # its own results: the contained connection refuses a second unfinished one
            input_kind = read_build_context(cursor, record).input_kind
        columns = catalog.relations[model].columns
        selected, params = selection.relation(model, columns, base=f'"{model}"')
        try:
            # a relation's reader streams batches (a DB-API result would copy every row first)
            reader = interruptible(con, lambda: con.sql(f"select * from {selected} as selection", params=params)
                                   .to_arrow_reader())
        except duckdb.Error as exc:
            raise IdcQcError(explain_condition_error(exc, f"the selection ({selection.describe()}) does not run on "
                                                          f"{model}", columns)) from None
        options = _copy_options(suffix, model, manifest, build_id, input_kind)
        try:
            with atomic_path(out) as partial, duckdb.connect() as writer:
                target = str(partial).replace("'", "''")
                writer.register("selected_rows", reader)
                source = "selected_rows"
                if suffix == ".csv":
                    listed = [(f.name, str(f.type).startswith(("list", "large_list", "fixed_size_list")))
                              for f in reader.schema]
                    source = f"(select {_csv_columns(listed, input_kind)} from selected_rows)"
                count = interruptible(writer, lambda: writer.execute(f"copy {source} to '{target}' {options}").fetchone()[0])
        except (duckdb.IOException, OSError) as exc:
            raise IdcQcError(f"cannot write {out}: {_io_reason(exc)}; nothing was written") from None
        except duckdb.Error as exc:  # the condition failed on a row (a cast, a division)
            raise IdcQcError(explain_condition_error(exc, f"the selection ({selection.describe()}) does not run on "
                                                          f"{model}", columns) + "; nothing was written") from None
    if not count:
        warnings = [*warnings, f"no row of {model} matches the selection ({selection.describe()}): wrote the header only"]
    return ExportResult(rows=int(count), out=out, warnings=list(warnings), manifest=manifest, build_id=build_id,
                        input_kind=input_kind)


def _copy_options(suffix: str, model: str, manifest: Path | None, build_id: str | None, input_kind: str) -> str:
    """COPY's options: CSV with a header; a parquet file names its build, manifest and input kind
    itself (key-value metadata), which CSV has no place for (see :func:`_csv_columns`)."""
    if suffix != ".parquet":
        return "(format csv, header true)"
    named = str(manifest.resolve()).replace("'", "''") if manifest is not None else ""
    kind = input_kind.replace("'", "''")
    return (f"(format parquet, kv_metadata {{idc_qc_manifest: '{named}', idc_qc_model: '{model}', "
            f"idc_qc_build_id: '{build_id or ''}', idc_qc_input_kind: '{kind}'}})")


#: The column a CSV export of a build on synthetic input ends with (value ``synthetic``).
SYNTHETIC_COLUMN = "idc_qc_input_kind"


def _csv_columns(columns: list[tuple[str, bool]], input_kind: str = "unknown") -> str:
    """The select list of a CSV export: (name, is a list) pairs; CSV has no lists, so a list is
    written as JSON text and survives a round trip. A build on synthetic input adds a last
    column saying so on every row (CSV has no metadata to put it in)."""
    listed = [f'to_json("{name}") as "{name}"' if is_list else f'"{name}"' for name, is_list in columns]
    if input_kind == "synthetic" and SYNTHETIC_COLUMN not in {name for name, _ in columns}:
        listed.append(f"'synthetic' as {SYNTHETIC_COLUMN}")
    return ", ".join(listed)


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
