"""The local clinical store: IDC's clinical dataset shape as a folder of parquet files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..database.files import CLINICAL_STORE_NAME, clinical_store

#: The store's folder name beside a database (its home is the room: idc_qc/database/files.py).
DEFAULT_STORE_NAME = CLINICAL_STORE_NAME
TABLE_METADATA = "table_metadata"
COLUMN_METADATA = "column_metadata"
REJECTED_ROWS = "rejected_rows"
#: Columns of every per-collection table before the registered file's own columns.
KEY_COLUMNS = ("dicom_patient_id", "source_batch", "source_row")
#: What the marts read from a clinical table, each from at most one column per table.
CONCEPTS = ("sex", "age_years", "days_to_birth", "race", "ethnicity", "vital_status")


def default_store_for(db_path: Path) -> Path:
    """The store a build of ``db_path`` reads: $IDC_QC_CLINICAL_DIR, else ``<db folder>/clinical``
    (a folder beside the database: its name is the room's, idc_qc/database/files.py)."""
    return clinical_store(db_path)


def table_path(store: Path, table_name: str) -> Path:
    return Path(store) / f"{table_name}.parquet"


def read_metadata(store: Path, name: str):
    """A metadata table of the store as a DataFrame (empty when absent)."""
    import pandas as pd

    path = table_path(store, name)
    if not path.exists():
        return pd.DataFrame()
    return pd.read_parquet(path)


def clinical_dbt_vars(store: Path | None) -> dict[str, Any]:
    """dbt vars that point the clinical staging model at ``store`` (empty when it holds nothing).

    ``clinical_tables`` lists, per table, the column that holds each concept (or null), read
    from column_metadata.concept; staging unions them into one row per clinical row.
    """
    if store is None or not table_path(store, TABLE_METADATA).exists():
        return {"clinical_dir": "", "clinical_tables": []}
    tables = read_metadata(store, TABLE_METADATA)
    columns = read_metadata(store, COLUMN_METADATA)
    entries = []
    for row in tables.sort_values("table_name").itertuples():
        mine = columns[columns["table_name"] == row.table_name] if len(columns) else columns
        entry: dict[str, Any] = {"table_name": row.table_name, "collection_id": row.collection_id,
                                 "source_row": "source_row"}
        for concept in CONCEPTS:
            hit = mine[mine["concept"] == concept]["column"].tolist() if len(mine) else []
            entry[concept] = hit[0] if hit else None
        entries.append(entry)
    return {"clinical_dir": str(Path(store).resolve()), "clinical_tables": entries}


@dataclass
class StoreSummary:
    store: Path
    tables: list[dict[str, Any]]
    rejected_rows: int


def read_store_summary(store: Path) -> StoreSummary:
    """What a store holds: one dict per table (collection, rows, source file), rejected rows."""
    tables = read_metadata(store, TABLE_METADATA)
    rejected = read_metadata(store, REJECTED_ROWS)
    rows = [] if tables.empty else tables.sort_values("table_name").to_dict("records")
    return StoreSummary(store=Path(store), tables=rows, rejected_rows=len(rejected))
