"""Rows -> parquet parts with one schema: the writer every ingest (files, DICOMweb) shares.

A batch of rows becomes an Arrow table whose columns are typed from the DICOM dictionary
(:func:`idc_qc.ingest.dataset.column_for`), so a column has one type in every part. The
declared instance columns (idc_qc/instances/schema.py) are always present, typed NULLs when no
file has them, so every part passes the instance contract on its own. At the end of a run,
:func:`unify_parts` rewrites the parts that lack some column of the union, so that every part
has every column in one order (readers that take the first file's schema, such as pandas and
pyarrow datasets, see them all).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import manifest as mf
from .dataset import (
    FILE_COLUMNS,
    OTHER_ELEMENTS,
    arrow_type,
    column_for,
    other_elements_type,
)

#: Footer metadata of every part: what wrote it (idc_qc/provenance.py reads ``idc_qc.input_kind``).
PARQUET_PROVENANCE = {"idc_qc.input_kind": "dicom", "idc_qc.generator": "idc_qc.ingest"}
PART_PREFIX = "part-"


_KEYWORD_TAGS: dict[str, int] | None = None  # the standard dictionary by keyword
_TYPES: dict[str, tuple | None] = {}  # keyword -> (tag, Arrow type) of its column, None if not one


def _keyword_tags() -> dict[str, int]:
    """The standard dictionary by keyword (built once per process; a fork inherits it)."""
    from ..instances.dicom_columns import standard_dictionary

    global _KEYWORD_TAGS
    if _KEYWORD_TAGS is None:
        _KEYWORD_TAGS = {entry[4]: tag for tag, entry in standard_dictionary().items() if entry[4]}
    return _KEYWORD_TAGS


def _keyword_type(name: str) -> tuple | None:
    """(tag, Arrow type) of the column of DICOM keyword ``name``, or None for another name;
    each keyword's worked out once, when first seen (a process sees a few hundred of the
    dictionary's 5,000)."""
    if name not in _TYPES:
        tag = _keyword_tags().get(name)
        column = column_for(tag) if tag is not None else None
        _TYPES[name] = (column.tag, arrow_type(column.kind, column.multi)) if column is not None else None
    return _TYPES[name]


def column_type(name: str):
    """The Arrow type of an instance column (a DICOM keyword, OtherElements or a file column)."""
    import pyarrow as pa

    known = _keyword_type(name)
    if known is not None:
        return known[1]
    if name == OTHER_ELEMENTS:
        return other_elements_type()
    if name == "instance_size":
        return pa.int64()
    return pa.string()


def _order_key(name: str) -> tuple:
    """Columns in tag order (file meta first), then OtherElements, then IDC's file columns."""
    known = _keyword_type(name)
    if known is not None:
        return (0, known[0], name)
    if name == OTHER_ELEMENTS:
        return (1, 0, name)
    return (2, FILE_COLUMNS.index(name) if name in FILE_COLUMNS else 99, name)


def core_columns() -> list[str]:
    from ..instances.schema import COLUMNS

    return [c.name for c in COLUMNS]


def arrow_without_pandas() -> None:
    """Let pyarrow convert Python lists in this process without importing pandas.

    pyarrow imports pandas (0.3 s of CPU, as much as reading 600 CT headers) the first time it
    converts a Python list, only to ask whether the list is a pandas object, and asks once per
    process. Here it asks while pandas cannot be imported, and hears "no pandas"; what needs
    pandas for real later (``to_pandas``, ``from_pandas``) imports it then. For processes that
    hand Arrow no pandas objects: the ingest's workers and the `idc-qc ingest` command. A
    process that has imported pandas already is left as it is."""
    import sys

    import pyarrow as pa

    if "pandas" in sys.modules:
        return
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.array([], type=pa.string())
    finally:
        sys.meta_path.remove(_NoPandas)


class _NoPandas:
    """An import finder under which ``import pandas`` raises ImportError (as if not installed)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not imported here (arrow_without_pandas)")
        return None


def prepare_column_types() -> None:
    """Load what column types are worked out from (the dictionary by keyword) in this process:
    a parent forking readers does it once for all of them."""
    _keyword_tags()


def rows_table(rows: list[dict[str, Any]]):
    """One Arrow table of ``rows``: the union of their columns plus the declared core, typed."""
    import pyarrow as pa

    names = set(core_columns())
    for row in rows:
        names.update(row)
    ordered = sorted(names, key=_order_key)
    # the rows as one struct array, converted by Arrow in one call (a column's absent key is
    # NULL): 40% less time than a Python list per column
    struct = pa.array(rows, type=pa.struct([(name, column_type(name)) for name in ordered]))
    return pa.Table.from_struct_array(struct)


def write_part(table, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    schema = table.schema.with_metadata({**(table.schema.metadata or {}), **{
        k.encode(): v.encode() for k, v in PARQUET_PROVENANCE.items()}})
    pq.write_table(table.replace_schema_metadata(schema.metadata), tmp, compression="zstd")
    os.replace(tmp, path)


def write_instances_part(instances: list, frames: list, out: Path, number: int) -> str:
    """One part of an ingest: its instance tables concatenated into ``instances/<part>`` and the
    frames of its multi-frame instances into ``frames/<part>`` (same name; none, no file).
    Returns the part's name."""
    import pyarrow as pa

    name = part_name(number)
    write_part(pa.concat_tables(instances, promote_options="default"), out / mf.INSTANCES_DIR / name)
    if frames:
        (out / mf.FRAMES_DIR).mkdir(exist_ok=True)
        write_part(pa.concat_tables(frames), out / mf.FRAMES_DIR / name)
    return name


def part_name(number: int) -> str:
    return f"{PART_PREFIX}{number:06d}.parquet"


def part_number(name: str) -> int:
    return int(name[len(PART_PREFIX):].split(".")[0])


def union_schema(paths: list[Path]):
    """The union of the parts' columns, in column order, with the dictionary's types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names: set[str] = set(core_columns())
    for path in paths:
        names.update(pq.read_schema(path).names)
    ordered = sorted(names, key=_order_key)
    return pa.schema([(n, column_type(n)) for n in ordered])


def unify_parts(paths: list[Path]) -> int:
    """Rewrite the parts whose columns are not the union of all parts'; returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not paths:
        return 0
    schema = union_schema(paths)
    rewritten = 0
    for path in paths:
        if pq.read_schema(path).names == schema.names:
            continue
        table = pq.ParquetFile(path).read()
        columns = [table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                   for f in schema]
        write_part(pa.Table.from_arrays(columns, schema=schema), path)
        rewritten += 1
    return rewritten


def drop_paths(path: Path, drop: set[str]) -> int:
    """Rewrite one part without the rows of ``drop`` (source_path); removes an emptied part.
    Returns the rows left."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read()
    keep = pc.invert(pc.is_in(table.column("source_path"), value_set=pa.array(sorted(drop), pa.string())))
    kept = table.filter(keep)
    if kept.num_rows == 0:
        path.unlink()
    elif kept.num_rows != table.num_rows:
        write_part(kept, path)
    return kept.num_rows
