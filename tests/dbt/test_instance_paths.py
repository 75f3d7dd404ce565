"""Real dbt builds over odd --instances paths: counts in = counts out (issue 8).

Each odd file holds 10 series; `dicom_all.parquet` (what `{name}` would format to) and
`in st'ances 1.parquet` (what `[1]` would glob to) beside it hold 50 others. A build must
read exactly the file it was given.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from idc_qc.build import build
from idc_qc.errors import ContractError
from support.geometry import SeriesSpec, series_rows, write_instances

ODD_NAMES = ["{name}.parquet", "a{b.parquet", "{{ 1 }}.parquet", "{% raw %}.parquet", "in st'ances [1].parquet",
             "100% é ünï.parquet"]


def _series(prefix: str, count: int) -> list[dict]:
    rows: list[dict] = []
    for k in range(count):
        rows += series_rows(SeriesSpec(uid=f"1.2.826.0.1.3680043.8.498.{prefix}.{k}", n=4))
    return rows


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("odd") / "in {name} 100% [dir]"
    for i, name in enumerate(ODD_NAMES):
        write_instances(_series(f"1{i}", 10), folder / name)
    write_instances(_series("2", 50), folder / "dicom_all.parquet")
    write_instances(_series("3", 50), folder / "in st'ances 1.parquet")
    return folder


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


@pytest.mark.slow  # a real dbt run (the fast lane keeps the refusal before dbt)
@pytest.mark.parametrize("name", ODD_NAMES)
def test_an_odd_file_name_is_read_literally_by_dbt(odd_folder, tmp_path, name):
    db = tmp_path / "idc_qc.duckdb"
    result = build(db, str(odd_folder / name), select=["stg_dicom__instances"])
    assert result.contract.files == [str(odd_folder / name)]
    assert _count(db, "select count(distinct SeriesInstanceUID) from stg_dicom__instances") == 10
    assert _count(db, "select count(*) from stg_dicom__instances") == 40


@pytest.mark.slow  # a real dbt run (the fast lane keeps the refusal before dbt)
def test_full_geometry_build_over_a_braced_name_gives_exactly_its_series(odd_folder, tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    build(db, str(odd_folder / "{name}.parquet"), select=["+series_geometry", "+instance_geometry"])
    assert _count(db, "select count(*) from series_geometry") == 10
    assert _count(db, "select count(*) from series_geometry where geometry_category = 'malformed_geometry'") == 0


@pytest.mark.slow  # a real dbt run (the fast lane keeps the refusal before dbt)
def test_a_folder_with_odd_names_reads_each_file_once(odd_folder, tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    result = build(db, str(odd_folder), select=["stg_dicom__instances"])
    assert len(result.contract.files) == len(ODD_NAMES) + 2
    assert _count(db, "select count(distinct SeriesInstanceUID) from stg_dicom__instances") == 10 * len(ODD_NAMES) + 100
    assert _count(db, "select count(*) from stg_dicom__instances") == 4 * (10 * len(ODD_NAMES) + 100)


def test_a_folder_with_a_file_lacking_a_required_column_is_refused_before_dbt(tmp_path):
    import pyarrow.parquet as pq

    folder = tmp_path / "parts"
    write_instances(_series("4", 3), folder / "part-0.parquet")
    second = write_instances(_series("5", 3), folder / "part-1.parquet")
    pq.write_table(pq.read_table(second).drop_columns(["ImageOrientationPatient"]), second)
    db = tmp_path / "idc_qc.duckdb"
    with pytest.raises(ContractError) as info:
        build(db, str(folder))
    assert str(info.value) == (f"instance file {str(second)!r} has no column ImageOrientationPatient (required; "
                               "expected a list of strings or numbers, e.g. VARCHAR[] as in IDC's dicom_all, or DOUBLE[])")
    assert not db.exists()


@pytest.mark.slow  # a real dbt run (the fast lane keeps the refusal before dbt)
def test_a_plain_string_var_still_works_for_direct_dbt_runs(odd_folder, tmp_path):
    """dbt run by hand (dbt_project.yml reads IDC_QC_INSTANCES) passes one string: one path or glob."""
    from idc_qc.dbt_runner import dbt_vars, run_dbt

    db = tmp_path / "idc_qc.duckdb"
    run_dbt("run", db_path=db, vars=dbt_vars(instances=str(odd_folder / "dicom_all.parquet")),
            select=["stg_dicom__instances"])
    assert _count(db, "select count(distinct SeriesInstanceUID) from stg_dicom__instances") == 50
