"""Where things are: the dbt project, the installed IDC index, default outputs."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import IdcQcError

#: The dbt project is the repository root (dbt_project.yml beside idc_qc/).
PROJECT_DIR = Path(os.environ.get("IDC_QC_PROJECT_DIR", Path(__file__).resolve().parent.parent))

DEFAULT_DB = Path("build/idc_qc.duckdb")


def idc_index_dir() -> Path:
    """Folder of the parquet files shipped by the installed ``idc-index-data`` package."""
    try:
        import idc_index_data
    except ImportError as exc:  # pragma: no cover - a broken install
        raise IdcQcError("the idc-index-data package is not installed (pip install idc-index-data)") from exc
    folder = Path(idc_index_data.IDC_INDEX_PARQUET_FILEPATH).parent
    if not (folder / "idc_index.parquet").exists():
        raise IdcQcError(f"idc-index-data has no idc_index.parquet in {folder}")
    return folder


def idc_index_version() -> str:
    import idc_index_data

    return idc_index_data.__version__
