"""IDC's own dicom_all queries on a demo build (issue 25, "synth writes the same wider shape"):
synth writes what IDC's index knows per series (StudyDate, TransferSyntaxUID, instance_size, ...),
and its output carries every attribute its instances have, so an attribute no synthetic
instance has (KVP, say) reads as NULL, as on an ``idc-qc ingest`` output, instead of stopping
the query with "lacks N columns"."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from idc_qc.query.run import run_query

pytestmark = pytest.mark.slow

CT = "1.2.840.10008.5.1.4.1.1.2"


def _idc_sql(name: str) -> str:
    import idc_index_data

    return (Path(idc_index_data.__file__).resolve().parent / name).read_text()


def test_ct_index_runs_on_a_demo_build_and_says_what_it_read_as_null(synthetic_db):
    result = run_query(synthetic_db, _idc_sql("ct_index.sql"), dialect="bigquery")
    with duckdb.connect(str(synthetic_db), read_only=True) as con:
        (ct_series,), = con.execute(
            "select count(distinct SeriesInstanceUID) from stg_dicom__instances where SOPClassUID = ?", [CT]).fetchall()
    rows = result.table.to_pylist()
    assert ct_series > 0 and len(rows) == ct_series
    assert all(r["KVP"] is None and r["SliceThickness"] is not None for r in rows)
    said = " ".join(result.warnings)
    assert "read as NULL: no instance of this input carries" in said and "KVP" in said


def test_a_tutorial_query_over_the_wider_columns_gives_the_index_values(synthetic_db):
    """A query of the kind IDC's tutorials write (studies by date, sizes, transfer syntaxes)
    reads the values IDC's index has for each series, each instance's size the series' over its
    instance count (a series synth writes an extra instance of, a localizer say, is a little larger)."""
    import idc_index_data

    sql = """
        SELECT SeriesInstanceUID, ANY_VALUE(StudyDate) AS StudyDate, ANY_VALUE(TransferSyntaxUID) AS ts,
               SUM(instance_size) / 1e6 AS size_MB, COUNT(*) AS n
        FROM `bigquery-public-data.idc_current.dicom_all`
        WHERE EXTRACT(YEAR FROM StudyDate) > 1900
        GROUP BY SeriesInstanceUID"""
    rows = run_query(synthetic_db, sql, dialect="bigquery").table.to_pylist()
    assert len(rows) > 100
    index = {r[0]: r[1:] for r in duckdb.execute(
        "select SeriesInstanceUID, try_cast(StudyDate as date), TransferSyntaxUID, series_size_MB * 1e6 / instanceCount "
        "from read_parquet(?)",
        [str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)]).fetchall()}
    wrong = [r for r in rows if (r["StudyDate"], r["ts"]) != index[r["SeriesInstanceUID"]][:2]
             or abs(r["size_MB"] * 1e6 / r["n"] - index[r["SeriesInstanceUID"]][2]) > 0.5]
    assert wrong == []
