"""Shared fixtures: real data from ../shared/data (skipped when absent) and built projects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("IDC_QC_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_HEADERS = SHARED_DATA / "real_headers" / "instances.parquet"
ORACLE_VERDICTS = SHARED_DATA / "real_headers" / "oracle_verdicts.csv"
TCGA_CLINICAL = SHARED_DATA / "clinical" / "tcga_pancan_clinical.csv"


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (it lives in ../shared/data beside the checkout)")
    return path


@pytest.fixture(scope="session")
def real_headers() -> Path:
    return require_shared(REAL_HEADERS)


@pytest.fixture(scope="session")
def oracle_verdicts() -> Path:
    return require_shared(ORACLE_VERDICTS)


@pytest.fixture(scope="session")
def real_headers_db(tmp_path_factory, real_headers) -> Path:
    """The whole project built once over the real DICOM headers."""
    from idc_qc.build import build

    db = tmp_path_factory.mktemp("real_headers") / "idc_qc.duckdb"
    build(db, str(real_headers))
    return db


@pytest.fixture(scope="session")
def index_only_db(tmp_path_factory) -> Path:
    """The project built over IDC's real index with no instance metadata."""
    from idc_qc.build import build

    db = tmp_path_factory.mktemp("index_only") / "idc_qc.duckdb"
    build(db, None, select=["+series"])
    return db


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
