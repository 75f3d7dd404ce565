"""The database file itself: is it a DuckDB file, and which build does it record.

Every build writes one row into the table ``idc_qc_build`` of the database it makes (a partial
build appends its own); its ``build_id`` is the id every result computed from the database
carries (idc_qc/database/state.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

#: DuckDB files carry this magic at byte offset 8 (after the header checksum).
DUCKDB_MAGIC = b"DUCK"
#: One row per build written into the database (a partial build appends its own row).
BUILD_TABLE = "idc_qc_build"

BUILD_TABLE_DDL = f"""
create table if not exists {BUILD_TABLE} (
    build_id varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,          -- building | complete | checks_failed
    instances varchar,                -- the instance files read (a glob), or null for the index alone
    selection varchar,                -- --select / --exclude as given, or null for everything
    models varchar,                   -- JSON list: the models and seeds this build wrote
    row_counts varchar,               -- JSON object: table -> rows after the build
    failed_tests varchar,             -- JSON list of data tests that failed
    toolkit_version varchar not null,
    idc_index_version varchar
)
"""


def is_duckdb_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
    except OSError:
        return False
    return header[8:12] == DUCKDB_MAGIC


@dataclass
class BuildRecord:
    build_id: str
    started_at: object
    finished_at: object
    status: str
    instances: str | None
    selection: str | None
    models: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    failed_tests: list[str] = field(default_factory=list)
    toolkit_version: str = ""


def read_build_record(con) -> BuildRecord | None:
    """The latest build recorded in an open DuckDB connection, or None (built before records)."""
    # fetchall, not fetchone: an undrained result blocks the next statement on the connection
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?", [BUILD_TABLE]
    ).fetchall()[0][0]
    if not exists:
        return None
    row = con.execute(
        f"select build_id, started_at, finished_at, status, instances, selection, models, row_counts, failed_tests, "
        f"toolkit_version from {BUILD_TABLE} order by started_at desc limit 1"
    ).fetchall()
    if not row:
        return None
    row = row[0]
    return BuildRecord(*row[:6], models=json.loads(row[6] or "[]"), row_counts=json.loads(row[7] or "{}"),
                       failed_tests=json.loads(row[8] or "[]"), toolkit_version=row[9])
