"""IDC's own volume_geometry_index.sql, made runnable on DuckDB over any instance table.

The query ships with the installed ``idc-index-data`` package and is written for BigQuery.
sqlglot transpiles it to DuckDB; four things need fixing by hand, each a silent error or a
hard one when left alone:

1. ``DECLARE name FLOAT64 DEFAULT value;`` is BigQuery scripting, not SQL: the variables
   become literals (the defaults, or the tolerances given).
2. ``UNNEST(array) part WITH OFFSET index`` becomes DuckDB's ``WITH ORDINALITY``, which
   counts from 1 while the query's ``index BETWEEN 0 AND 2`` still counts from 0: a silent
   off-by-one that would read the wrong direction cosines. References to the offset are
   rewritten to ``index - 1``.
3. ``ARRAY_AGG(x ORDER BY key LIMIT 1)[OFFSET(0)]`` has no DuckDB form (no LIMIT inside an
   aggregate): it becomes ``ARG_MIN(x, key)``. The two differ only on rows whose key is NULL
   (BigQuery sorts them first), and IDC publishes the value only for regular volumes, where
   no key is NULL.
4. The table ``bigquery-public-data.idc_vNN.dicom_all`` becomes the relation given.

The result is used by the compatibility tests and by benchmarks/bench_geometry.py.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Our dbt var names for IDC's DECLAREd tolerances.
TOLERANCE_VARS = {
    "relative_slice_tolerance": "relativeSliceTolerance",
    "in_plane_tolerance": "inPlaneTolerance",
    "orientation_tolerance": "orientationTolerance",
}

_DECLARE = re.compile(r"^\s*DECLARE\s+(\w+)\s+\w+\s+DEFAULT\s+([^;]+);", re.IGNORECASE | re.MULTILINE)
_PLACEHOLDER = "idc_qc_instances_relation"


def idc_volume_geometry_sql_path() -> Path:
    """Path of volume_geometry_index.sql inside the installed idc-index-data package."""
    import idc_index_data

    return Path(idc_index_data.__file__).resolve().parent / "volume_geometry_index.sql"


def idc_volume_geometry_sql() -> str:
    """IDC's query as shipped (BigQuery dialect, with DECLARE statements)."""
    return idc_volume_geometry_sql_path().read_text()


def idc_declared_defaults(sql: str | None = None) -> dict[str, float]:
    """The DECLAREd tolerances of IDC's query and their defaults, by IDC's names."""
    return {name: float(value) for name, value in _DECLARE.findall(sql or idc_volume_geometry_sql())}


def idc_volume_geometry_sql_duckdb(instances_relation: str, **tolerances: float) -> str:
    """IDC's volume_geometry_index.sql as DuckDB SQL reading ``instances_relation``.

    Parameters
    ----------
    instances_relation
        A DuckDB relation with dicom_all's columns: a table or view name, or a table
        function such as ``read_parquet('/data/*.parquet', union_by_name = true)``.
    **tolerances
        ``relative_slice_tolerance``, ``in_plane_tolerance``, ``orientation_tolerance``
        (our dbt var names) or IDC's own names; the query's defaults otherwise.

    Returns
    -------
    str
        One SELECT statement, one row per series, IDC's output columns.
    """
    import sqlglot
    from sqlglot import exp

    source = idc_volume_geometry_sql()
    values = idc_declared_defaults(source)
    for name, value in tolerances.items():
        idc_name = TOLERANCE_VARS.get(name, name)
        if idc_name not in values:
            raise ValueError(f"IDC's volume_geometry_index.sql declares no tolerance {name!r}")
        values[idc_name] = float(value)

    body = _DECLARE.sub("", source)
    tree = sqlglot.parse_one(body, read="bigquery")

    # 1. DECLAREd variables -> literals
    for column in list(tree.find_all(exp.Column)):
        if not column.table and column.name in values:
            column.replace(exp.Literal.number(repr(values[column.name])))

    # 2. WITH OFFSET (0-based) -> WITH ORDINALITY (1-based): shift every use of the offset
    for unnest in list(tree.find_all(exp.Unnest)):
        offset = unnest.args.get("offset")
        if not isinstance(offset, exp.Identifier):
            continue
        select = unnest.find_ancestor(exp.Select)
        for column in list(select.find_all(exp.Column)):
            if not column.table and column.name == offset.name:
                column.replace(exp.paren(exp.Sub(this=column.copy(), expression=exp.Literal.number(1))))

    # 3. ARRAY_AGG(x ORDER BY key LIMIT 1)[OFFSET(0)] -> ARG_MIN(x, key)
    for bracket in list(tree.find_all(exp.Bracket)):
        agg = bracket.this
        if not (isinstance(agg, exp.ArrayAgg) and isinstance(agg.this, exp.Limit)):
            continue
        order = agg.this.this
        if not isinstance(order, exp.Order) or len(order.expressions) != 1:
            raise ValueError("unexpected ARRAY_AGG(... LIMIT 1) shape in IDC's query")
        key = order.expressions[0].this
        bracket.replace(exp.Anonymous(this="ARG_MIN", expressions=[order.this.copy(), key.copy()]))

    # 4. dicom_all -> the relation given
    for table in list(tree.find_all(exp.Table)):
        if table.name == "dicom_all":
            table.set("this", exp.to_identifier(_PLACEHOLDER))
            table.set("db", None)
            table.set("catalog", None)

    sql = tree.sql(dialect="duckdb", comments=False)
    return sql.replace(_PLACEHOLDER, instances_relation)
