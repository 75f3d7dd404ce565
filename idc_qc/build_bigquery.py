"""The build on BigQuery: load IDC's series index into a dataset, then dbt build over IDC's
public ``dicom_all`` (or, with ``dry_run``, only price every model; nothing runs or is billed).

Beside idc_qc/build.py (the DuckDB build); `idc-qc build --target bigquery` calls
:func:`build_bigquery` and shows what it returns. Settings come from the environment
(docs/bigquery.md): IDC_QC_BQ_PROJECT, IDC_QC_BQ_LOCATION, IDC_QC_BQ_KEYFILE,
IDC_QC_BQ_MAX_BYTES_BILLED, IDC_QC_BQ_INDEX_DATASET.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from .dbt_runner import ProgressCallback
from .errors import IdcQcError

#: The cost guard of a dry run when IDC_QC_BQ_MAX_BYTES_BILLED is not set (100 GB).
DEFAULT_MAX_BYTES_BILLED = 100_000_000_000


@dataclass
class BigQueryBuildResult:
    idc_release: str
    project: str
    dry_run: Any = None          # idc_qc.bigquery dry-run report (dry_run=True)
    max_bytes_billed: int | None = None
    dbt: Any = None              # idc_qc.dbt_runner.DbtRunResult (a real build)
    index_dataset: str | None = None


def build_bigquery(*, idc_release: str, select: list[str] | None = None, dry_run: bool = False,
                   on_progress: ProgressCallback | None = None,
                   on_stage: Callable[[str], None] | None = None) -> BigQueryBuildResult:
    """Build (or with ``dry_run`` price) the models on BigQuery for IDC release ``idc_release``
    (``"25"``, ``"current"``). Raises IdcQcError without a project."""
    from . import bigquery as bq
    from .dbt_runner import run_dbt

    say = on_stage or (lambda _text: None)
    project = os.environ.get("IDC_QC_BQ_PROJECT")
    if not project:
        raise IdcQcError("set IDC_QC_BQ_PROJECT (and IDC_QC_BQ_KEYFILE, or use application-default credentials); "
                         "see docs/bigquery.md")
    client = bq.make_client(project, location=os.environ.get("IDC_QC_BQ_LOCATION", "US"),
                            keyfile=os.environ.get("IDC_QC_BQ_KEYFILE") or None)
    # IDC's public dicom_all: real DICOM metadata (rpt_build_context, idc_qc/provenance.py)
    dbt_vars = {"idc_release": idc_release, "input_kind": "dicom",
                "input_detail": f"IDC dicom_all on BigQuery, release {idc_release}"}
    result = BigQueryBuildResult(idc_release=idc_release, project=project)
    if dry_run:
        limit = int(os.environ.get("IDC_QC_BQ_MAX_BYTES_BILLED", str(DEFAULT_MAX_BYTES_BILLED)))
        result.max_bytes_billed = limit
        result.dry_run = bq.dry_run(client, target="bigquery", vars=dbt_vars, select=select,
                                    maximum_bytes_billed=limit)
        return result
    dataset = os.environ.get("IDC_QC_BQ_INDEX_DATASET", "idc_qc_index")
    say(f"Loading the idc-index-data tables into {project}.{dataset} ...")
    bq.load_index_tables(client, dataset)
    dbt_vars["idc_index_bigquery_dataset"] = dataset
    result.index_dataset = dataset
    result.dbt = run_dbt("build", target="bigquery", vars=dbt_vars, select=select, on_progress=on_progress)
    return result
