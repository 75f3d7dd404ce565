"""The instance-metadata column contract (docs/instance_contract.md), checked before dbt runs.

A file that breaks it gets one error naming the column and what was expected, instead
of a SQL error from deep inside a model.
"""

from __future__ import annotations

import glob as globlib
from dataclasses import dataclass
from pathlib import Path

from .errors import ContractError

#: The kinds of column staging knows how to read.
STRING, STRING_ARRAY, INTEGER = "string", "string array", "integer"

#: Columns without which no series can be identified or placed in space.
REQUIRED: dict[str, str] = {
    "SeriesInstanceUID": STRING,
    "SOPInstanceUID": STRING,
    "SOPClassUID": STRING,
    "ImagePositionPatient": STRING_ARRAY,
    "ImageOrientationPatient": STRING_ARRAY,
}

#: Columns read when present; typed NULLs otherwise (mirrors stg_dicom__instances).
OPTIONAL: dict[str, str] = {
    "StudyInstanceUID": STRING,
    "PatientID": STRING,
    "collection_id": STRING,
    "Modality": STRING,
    "Manufacturer": STRING,
    "ManufacturerModelName": STRING,
    "BodyPartExamined": STRING,
    "PatientAge": STRING,
    "PatientSex": STRING,
    "SeriesDescription": STRING,
    "ImageType": STRING_ARRAY,
    "PixelSpacing": STRING_ARRAY,
    "Rows": INTEGER,
    "Columns": INTEGER,
    "NumberOfFrames": STRING,
    "SliceThickness": STRING,
    "SpacingBetweenSlices": STRING,
    "GantryDetectorTilt": STRING,
    "InstanceNumber": STRING,
    "AcquisitionNumber": STRING,
    "TemporalPositionIdentifier": STRING,
    "EchoTime": STRING,
    "DiffusionBValue": STRING,
}

_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "REAL"}
_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_REMOTE_PREFIXES = ("s3://", "gs://", "gcs://", "http://", "https://", "az://", "hf://")


@dataclass(frozen=True)
class ContractReport:
    """What the check found: the files it read and the optional columns the input lacks."""

    source: str
    files: int
    columns: dict[str, str]
    absent_optional: list[str]


def _accepts(kind: str, duckdb_type: str) -> bool:
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


def _expected(kind: str) -> str:
    return {
        STRING: "a string (VARCHAR) or number",
        INTEGER: "an integer (or a string holding one)",
        STRING_ARRAY: "a list of strings or numbers (e.g. VARCHAR[] as in IDC's dicom_all, or DOUBLE[])",
    }[kind]


def resolve_files(instances: str) -> list[str]:
    """The local files a path or glob names (remote URLs are passed through unchecked)."""
    if instances.startswith(_REMOTE_PREFIXES):
        return [instances]
    path = Path(instances).expanduser()
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*.parquet"))
        if not files:
            raise ContractError(f"--instances folder {instances!r} holds no .parquet file")
        return files
    files = sorted(globlib.glob(str(path), recursive=True))
    if not files:
        raise ContractError(f"--instances {instances!r} matches no file")
    return files


def instances_glob(instances: str) -> str:
    """What DuckDB's read_parquet should be given: a folder becomes its recursive glob."""
    path = Path(instances).expanduser()
    if not instances.startswith(_REMOTE_PREFIXES) and path.is_dir():
        return str(path.resolve() / "**" / "*.parquet")
    if not instances.startswith(_REMOTE_PREFIXES):
        return str(path.resolve()) if not any(c in instances for c in "*?[") else str(Path(instances).expanduser())
    return instances


def check_instances(instances: str) -> ContractReport:
    """Read only the parquet schema of ``instances`` and check it against the contract."""
    import duckdb

    files = resolve_files(instances)
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?, union_by_name = true))",
            [files],
        ).fetchall()
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ContractError(f"cannot read {instances!r} as parquet: {first_line}") from exc
    finally:
        con.close()

    columns = {name: dtype for name, dtype in rows}
    by_lower = {name.lower(): name for name in columns}
    for name, kind in REQUIRED.items():
        if name.lower() not in by_lower:
            raise ContractError(
                f"instance metadata {instances!r} has no column {name} (required: {', '.join(REQUIRED)})"
            )
    absent: list[str] = []
    for name, kind in {**REQUIRED, **OPTIONAL}.items():
        actual_name = by_lower.get(name.lower())
        if actual_name is None:
            absent.append(name)
            continue
        dtype = columns[actual_name]
        if dtype.upper() == '"NULL"' or dtype.upper() == "NULL":
            absent.append(name)  # an all-NULL column written without a type
            continue
        if not _accepts(kind, dtype):
            raise ContractError(f"column {name} of {instances!r} is {dtype}; expected {_expected(kind)}")
    return ContractReport(source=instances, files=len(files), columns=columns, absent_optional=absent)
