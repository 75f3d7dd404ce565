"""Shared fixtures and the markers each test folder carries.

Folders: unit (pure logic), dbt (models on DuckDB), engines/bigquery (compile, emulator),
cli (the command line as a user runs it), reports (HTML and images). Helpers: tests/support.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.data import ORACLE_VERDICTS, REAL_HEADERS, require_shared

os.environ.setdefault("DO_NOT_TRACK", "1")

#: Markers implied by a test's folder (relative to tests/).
_FOLDER_MARKERS = {
    "dbt": ["duckdb"],
    "engines/bigquery": ["bigquery"],
    "cli": ["cli"],
    "reports": ["reports"],
}


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parent
    for item in items:
        try:
            relative = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        for folder, markers in _FOLDER_MARKERS.items():
            if relative.startswith(folder + "/"):
                for marker in markers:
                    item.add_marker(getattr(pytest.mark, marker))


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
    """The project built over IDC's real index with no instance metadata (all 1M series: slow)."""
    from idc_qc.build import build

    db = tmp_path_factory.mktemp("index_only") / "idc_qc.duckdb"
    build(db, None, select=["+series"])
    return db
