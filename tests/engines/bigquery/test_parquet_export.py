"""The middle road: DuckDB reading a parquet export of dicom_all directly (``--instances``
with a URL or glob), tested on local files of the same layout.

An export is a folder of parquet parts carrying every dicom_all column (thousands of
attributes); idc-qc must read only the columns staging uses. DuckDB's plan for the
staging view is inspected (EXPLAIN, JSON format): the parquet scan's projection list must
equal the columns stg_dicom__instances reads, so the unused ones are never fetched; over
httpfs that is what keeps a remote export cheap (only those column chunks are requested).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import support.bigquery as h

pytestmark = [pytest.mark.bigquery, pytest.mark.slow]


def _parquet_scans(plan: list[dict]) -> list[dict]:
    found = []

    def walk(node: dict) -> None:
        info = node.get("extra_info", {})
        if "PARQUET" in str(node.get("name", "")).upper() or "PARQUET" in str(info.get("Function", "")).upper():
            found.append(info)
        for child in node.get("children", []):
            walk(child)

    for root in plan:
        walk(root)
    return found


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three parquet parts, like an EXPORT DATA ... format='PARQUET' with a wildcard URI."""
    import pyarrow.parquet as pq

    work = tmp_path_factory.mktemp("dicom_all_export")
    table = pq.read_table(h.write_synthetic_instances(work / "all.parquet", h.index_series_sample(4)))
    (work / "all.parquet").unlink()
    folder = work / "dicom_all"
    folder.mkdir()
    step = -(-table.num_rows // 3)
    for i in range(3):
        pq.write_table(table.slice(i * step, step), folder / f"{i:012d}.parquet")
    return folder


def test_staging_reads_only_needed_columns_from_a_parquet_export(export_folder: Path, tmp_path: Path) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from idc_qc.dbt_runner import dbt_vars, run_dbt

    glob = str(export_folder / "*.parquet")
    all_columns = set(pq.read_schema(next(export_folder.glob("*.parquet"))).names)
    absent = h.absent_instance_columns(next(export_folder.glob("*.parquet")))
    used = set(h.instance_columns_used()) - set(absent)
    assert {"SliceLocation", "unused_payload"} <= all_columns - used, "the export carries unused columns"

    db = tmp_path / "idc_qc.duckdb"
    run_dbt("run", db_path=db, vars=dbt_vars(instances=glob, absent_columns=absent), select=["stg_dicom__instances"])

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select count(*) from main.stg_dicom__instances").fetchone()[0]
        plan = json.loads(con.execute("explain (format json) select * from main.stg_dicom__instances").fetchall()[0][1])
    finally:
        con.close()
    assert rows == sum(pq.read_metadata(p).num_rows for p in export_folder.glob("*.parquet"))

    scans = _parquet_scans(plan)
    assert scans, f"no parquet scan in the plan: {plan}"
    projected = set()
    for scan in scans:
        value = scan.get("Projections", [])
        projected |= set([value] if isinstance(value, str) else value)
    assert projected, "the parquet scan lists no projection (DuckDB's plan format changed?)"
    assert not (projected & {"SliceLocation", "unused_payload"}), f"unused columns read: {projected - used}"
    assert projected <= used, f"columns read beyond what staging needs: {projected - used}"
    print(f"\nparquet scan reads {len(projected)} of {len(all_columns)} columns from {glob}")
