"""The local clinical store: IDC's clinical dataset shape as a folder of parquet files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..database.files import CLINICAL_STORE_ENV, CLINICAL_STORE_SUFFIX, clinical_store

#: The store of a database is named after it: build/idc_qc.duckdb -> build/idc_qc.clinical/.
STORE_SUFFIX = CLINICAL_STORE_SUFFIX
#: Where earlier versions kept one store for every database of a folder (build/clinical/):
#: a build no longer reads it unless told to, and says so.
DEFAULT_STORE_NAME = "clinical"
#: Environment variable naming the store a build reads (overrides the database's own store).
STORE_ENV = CLINICAL_STORE_ENV

TABLE_METADATA = "table_metadata"
COLUMN_METADATA = "column_metadata"
REJECTED_ROWS = "rejected_rows"
#: Columns of every per-collection table before the registered file's own columns.
KEY_COLUMNS = ("dicom_patient_id", "source_batch", "source_row")
#: What the marts read from a clinical table, each from at most one column per table.
CONCEPTS = ("sex", "age_years", "days_to_birth", "race", "ethnicity", "vital_status")


def default_store_for(db_path: Path) -> Path:
    """The store of ``db_path``: $IDC_QC_CLINICAL_DIR, else ``<db folder>/<db stem>.clinical``.

    Scoped to its database, so that a second, unrelated database in the same folder never
    gains another database's clinical data (and its clinical gates) by accident.
    """
    override = os.environ.get(STORE_ENV)
    if override:
        return Path(override).expanduser()
    return clinical_store(db_path)


def has_store(store: Path | None) -> bool:
    return store is not None and table_path(store, TABLE_METADATA).exists()


@dataclass
class StoreChoice:
    """Which clinical store a build reads, and the one line it prints about it."""

    store: Path | None
    line: str


def choose_store(db_path: Path, explicit: Path | None = None) -> StoreChoice:
    """The store a build of ``db_path`` reads: ``explicit`` (``--clinical``), else
    $IDC_QC_CLINICAL_DIR, else the database's own ``<stem>.clinical``; with the line the
    build prints. An explicit store that holds nothing is an error (a typo would otherwise
    build without clinical data and say nothing)."""
    from ..errors import IdcQcError

    how = "--clinical"
    if explicit is None and os.environ.get(STORE_ENV):
        explicit, how = Path(os.environ[STORE_ENV]).expanduser(), f"${STORE_ENV}"
    if explicit is not None:
        if not has_store(explicit):
            raise IdcQcError(f"{how} {explicit}: no clinical store there (no {TABLE_METADATA}.parquet); register one "
                             f"with `idc-qc clinical add FILE --store {explicit}`, or leave {how} out")
        return StoreChoice(Path(explicit), f"clinical data: {_tables(explicit)} from {explicit} ({how})")
    store = clinical_store(db_path)
    if has_store(store):
        return StoreChoice(store, f"clinical data: {_tables(store)} from {store} (this database's store)")
    line = f"clinical data: none ({store} holds no store; `idc-qc clinical add` registers one)"
    shared = Path(db_path).resolve().parent / DEFAULT_STORE_NAME
    if has_store(shared):
        line += (f"; {shared} (the folder-wide store of earlier versions) was not read: "
                 f"move it to {store} or pass --clinical {shared}")
    return StoreChoice(None, line)


def _tables(store: Path) -> str:
    n = len(read_metadata(store, TABLE_METADATA))
    return f"{n} table{'' if n == 1 else 's'}"


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
