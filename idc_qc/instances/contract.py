"""The instance-metadata column contract (docs/instance_contract.md), checked before dbt runs.

Every file ``--instances`` names is checked, from its parquet metadata alone (no rows are
read), against :mod:`idc_qc.instances.schema`. A file that breaks the contract gets one error
naming the file, the column, the expected type and what was found, instead of a SQL error
from deep inside a model or, worse, its series silently classified as malformed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ContractError
from .files import duckdb_literal_path, frame_files, is_remote, resolve_instances
from .schema import ACCEPTS, COLUMNS, INTEGER, STRING, STRING_ARRAY

_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "UHUGEINT"}
_NUMERIC = _INTEGER | {"FLOAT", "DOUBLE", "REAL"}


@dataclass(frozen=True)
class ContractReport:
    """What the check found.

    Attributes
    ----------
    source : str
        ``--instances`` as given.
    files : list of str
        The files checked, which are the files dbt reads (absolute paths, or one remote URL).
    columns : dict
        Column name -> DuckDB type, over all files (the first file's type where they differ;
        an ingest output has one type per column in every file).
    absent_optional : list of str
        Optional contract columns no file has (staging makes them typed NULLs).
    frame_files : list of str
        The frames table's parts that go with ``files`` (an ``idc-qc ingest`` output's
        ``frames/``; :func:`idc_qc.instances.files.frame_files`), empty for other inputs.
    series_ordered : bool
        The rows of a series come together in the files (:func:`is_series_ordered`): the
        build then reads the parsed instances as they come, else it writes them series by
        series first (dbt var ``instances_series_ordered``; docs/geometry.md, issue 24).
    """

    source: str
    files: list[str]
    columns: dict[str, str]
    absent_optional: list[str]
    frame_files: list[str] = field(default_factory=list)
    series_ordered: bool = False

    @property
    def extra_columns(self) -> list[str]:
        """The input's columns beyond the declared ones (an ingest writes all of dicom_all's):
        staging passes them through as they are (dbt var ``instance_columns_extra``)."""
        declared = {c.name.lower() for c in COLUMNS}
        return [name for name in self.columns if name.lower() not in declared]


def accepts(kind: str, duckdb_type: str) -> bool:
    """Whether staging can cast a column of ``duckdb_type`` to ``kind``."""
    base = duckdb_type.upper()
    if kind == STRING:
        return base == "VARCHAR" or base in _NUMERIC or base.startswith("DECIMAL")
    if kind == INTEGER:
        return base in _INTEGER or base == "VARCHAR"
    if kind == STRING_ARRAY:
        if not base.endswith("[]"):
            return False
        element = base[:-2]
        return element == "VARCHAR" or element in _NUMERIC or element.startswith("DECIMAL")
    raise ValueError(kind)


def _untyped(duckdb_type: str) -> bool:
    """An all-NULL column written without a type: as good as absent."""
    return duckdb_type.upper() in ('"NULL"', "NULL")


def _describe(con, path: str, shown: str) -> list[tuple[str, str]]:
    import duckdb

    try:
        return con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))", [path]
        ).fetchall()
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        hint = ("--instances takes parquet shaped like IDC's dicom_all (a file, a folder of .parquet files or a "
                "glob; docs/instance_contract.md)")
        if Path(shown).suffix.lower() in {".csv", ".tsv", ".txt"}:
            hint += f"; to use this table, convert it: duckdb -c \"copy (from '{shown}') to 'instances.parquet'\""
        raise ContractError(f"cannot read {shown!r} as parquet ({first_line}): {hint}") from exc


def check_file(name: str, columns: dict[str, str]) -> tuple[set[str], set[str]]:
    """Check one file's columns (name -> DuckDB type); returns (present, untyped) contract columns.

    Raises
    ------
    ContractError
        Naming ``name``, the column, the type expected and the type found.
    """
    by_lower = {col.lower(): col for col in columns}
    present: set[str] = set()
    untyped: set[str] = set()
    for column in COLUMNS:
        actual = by_lower.get(column.name.lower())
        if actual is None:
            if column.required:
                raise ContractError(
                    f"instance file {name!r} has no column {column.name} (required; expected {ACCEPTS[column.kind]})"
                )
            continue
        dtype = columns[actual]
        if _untyped(dtype):
            untyped.add(column.name)
            continue
        if not accepts(column.kind, dtype):
            raise ContractError(f"column {column.name} of {name!r} is {dtype}; expected {ACCEPTS[column.kind]}")
        present.add(column.name)
    return present, untyped


def check_instances(instances: str | os.PathLike) -> ContractReport:
    """Resolve ``instances`` to its files and check every one of them against the contract.

    Only parquet metadata is read (``describe``), one file at a time, so a folder of 50 files
    costs milliseconds per file. A remote URL is described as a whole (DuckDB needs httpfs).
    """
    import duckdb

    text = os.fspath(instances)
    files = resolve_instances(text)
    merged: dict[str, str] = {}
    typed: set[str] = set()
    con = duckdb.connect()
    try:
        for path in files:
            if is_remote(path):
                described = _describe(con, path, path)
            else:
                described = _describe(con, duckdb_literal_path(path), path)
            columns = dict(described)
            present, _ = check_file(path, columns)
            typed |= present
            for name, dtype in columns.items():
                merged.setdefault(name, dtype)
    finally:
        con.close()
    absent = [c.name for c in COLUMNS if c.name not in typed]
    return ContractReport(source=text, files=files, columns=merged, absent_optional=absent,
                          frame_files=frame_files(files), series_ordered=is_series_ordered(files))


#: Rows read from the start of each file to tell the order, and the average run of one series'
#: rows above which the input counts as series-ordered (idc-qc synth's series order: ~120 rows a
#: run; a BigQuery export or a parallel ingest: ~1). An input of fewer rows than SMALL_INPUT_ROWS
#: counts as ordered whatever its order: too small for the order to cost anything, it keeps the
#: dbt vars (and so dbt's parse) of every other small build.
ORDER_SAMPLE_ROWS = 100_000
SERIES_RUN_LENGTH = 8
SMALL_INPUT_ROWS = 10_000


def is_series_ordered(files: list[str]) -> bool:
    """Whether the instances of a series come one after another in ``files`` (the first
    ORDER_SAMPLE_ROWS rows of each, SeriesInstanceUID only). Decides only how fast the build is,
    never what it finds: a series-ordered input is parsed as it comes, any other is written series
    by series first (int_instances__geometry_parsed). A remote input is taken as unordered."""
    if not files or any(is_remote(f) for f in files):
        return False
    import duckdb

    with duckdb.connect() as con:
        try:
            rows, runs = con.execute(
                "select count(*), count(*) filter (where s is distinct from p) from ("
                "select SeriesInstanceUID as s, lag(SeriesInstanceUID) over (partition by filename order by file_row_number) as p "
                "from read_parquet(?, filename = true, file_row_number = true) where file_row_number < ?)",
                [[duckdb_literal_path(f) for f in files], ORDER_SAMPLE_ROWS]).fetchone()
        except duckdb.Error:
            return False  # files the contract accepted but this cannot read so: the order-free way
    return rows < SMALL_INPUT_ROWS or rows >= runs * SERIES_RUN_LENGTH
