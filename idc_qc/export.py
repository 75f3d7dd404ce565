"""Export one built model to parquet or CSV."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import IdcQcError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def list_models(db_path: Path) -> list[str]:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def export_model(db_path: Path, model: str, out: Path) -> int:
    """Write ``model`` from ``db_path`` to ``out`` (.parquet or .csv); returns the row count."""
    import duckdb

    if not db_path.exists():
        raise IdcQcError(f"no database at {db_path}: run `idc-qc build` first (or pass --db)")
    # The model name is spliced into SQL as an identifier: accept only plain names that exist.
    if not _IDENTIFIER.match(model):
        raise IdcQcError(f"{model!r} is not a model name (letters, digits and _ only)")
    models = list_models(db_path)
    if model not in models:
        raise IdcQcError(f"no model {model!r} in {db_path}; built models: {', '.join(models) or 'none'}")
    suffix = out.suffix.lower()
    if suffix not in {".parquet", ".csv"}:
        raise IdcQcError(f"cannot export to {out.name!r}: the file name must end in .parquet or .csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    options = "(format parquet)" if suffix == ".parquet" else "(format csv, header true)"
    with duckdb.connect(str(db_path), read_only=True) as con:
        relation = con.table(model)
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
        target = str(out).replace("'", "''")
        con.execute(f"copy ({query}) to '{target}' {options}")
        count = relation.count("*").fetchall()[0][0]
    return int(count)
