"""Where the tests find things: the repository, ../shared/data (skipped when absent), built databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("IDC_QC_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_HEADERS = SHARED_DATA / "real_headers" / "instances.parquet"
ORACLE_VERDICTS = SHARED_DATA / "real_headers" / "oracle_verdicts.csv"
TCGA_CLINICAL = SHARED_DATA / "clinical" / "tcga_pancan_clinical.csv"


def require_shared(path: Path) -> Path:
    """``path`` under ../shared/data, or skip the test with the reason."""
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (it lives in ../shared/data beside the checkout)")
    return path


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on the DuckDB file ``db``, opened read-only."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def writable_copy(db: Path, folder: Path) -> Path:
    """A copy of the built database ``db`` in ``folder`` (same file name), for a test that changes
    it or writes files beside it; the shared builds of tests/conftest.py stay read-only."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(db, folder / db.name))
