"""series_geometry reproduces IDC's volume_geometry_index wherever IDC's own SQL yields a value.

IDC's query (shipped in idc-index-data) is transpiled to DuckDB by idc_qc.idc_reference and
run on the same instance files as our dbt models; the IDC columns are compared series by
series: booleans equal, floats within 1e-6, obliquity within 0.01 degree.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from support.geometry import (
    IDC_COLUMNS,
    SeriesSpec,
    built_once,
    compare_with_idc,
    edge_case_rows,
    idc_reference_frame,
    series_geometry_frame,
    series_rows,
    write_instances,
)
from idc_qc.idc_reference import idc_declared_defaults, idc_volume_geometry_sql_duckdb
from support.data import REPO

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------
# the transpiled query itself (table-driven: what each fix must leave in the DuckDB SQL)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fix", "absent", "present"),
    [
        ("DECLAREd tolerances become literals", r"\bDECLARE\b|relativeSliceTolerance|inPlaneTolerance|orientationTolerance", None),
        ("WITH OFFSET is 0-based again", r"WHERE index BETWEEN", r"\(index - 1\) BETWEEN 0 AND 2"),
        ("ARRAY_AGG(... LIMIT 1) is ARG_MIN", r"LIMIT 1\)", r"ARG_MIN\("),
        ("dicom_all is the given relation", r"bigquery-public-data|idc_v\d+|dicom_all", r"FROM my_instances AS bid"),
    ],
)
def test_transpiled_idc_query_carries_each_fix(fix, absent, present):
    sql = idc_volume_geometry_sql_duckdb("my_instances")
    assert not re.search(absent, sql), fix
    if present:
        assert re.search(present, sql), fix


def test_tolerances_reach_the_transpiled_query():
    assert idc_declared_defaults() == {"relativeSliceTolerance": 0.01, "inPlaneTolerance": 0.1, "orientationTolerance": 0.01}
    sql = idc_volume_geometry_sql_duckdb("t", in_plane_tolerance=0.25, relative_slice_tolerance=0.05)
    assert "< 0.25" in sql and "0.05 * ABS" in sql
    with pytest.raises(ValueError, match="declares no tolerance"):
        idc_volume_geometry_sql_duckdb("t", no_such_tolerance=1)


def test_default_tolerances_are_our_dbt_vars():
    import yaml

    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    ours = {k: project["vars"][k] for k in ("relative_slice_tolerance", "in_plane_tolerance", "orientation_tolerance")}
    assert ours == {"relative_slice_tolerance": 0.01, "in_plane_tolerance": 0.1, "orientation_tolerance": 0.01}


def test_offset_fix_reads_the_right_direction_cosines(tmp_path):
    """Without the WITH OFFSET fix, IDC's query would read IOP values 1-2 as the row vector."""
    spec = SeriesSpec(uid="1.2.3.oblique", n=6, spacing=2.0, rotation_seed=(0.3, -0.5, 0.2))
    path = write_instances(series_rows(spec), tmp_path / "one.parquet")
    with duckdb.connect() as con:
        row = con.execute(idc_volume_geometry_sql_duckdb(f"read_parquet('{path}')")).fetchall()[0]
    columns = ["SeriesInstanceUID", *IDC_COLUMNS[:8], "obliquity_degrees", "regularly_spaced_3d_volume",
               "origin_patient", "ImageOrientationPatient", "slice_spacing_mm"]
    result = dict(zip(columns, row))
    written = [float(v) for v in series_rows(spec)[0]["ImageOrientationPatient"]]
    assert result["regularly_spaced_3d_volume"] is True
    assert result["ImageOrientationPatient"] == pytest.approx(written, abs=1e-9)
    assert result["slice_spacing_mm"] == pytest.approx(2.0, rel=1e-6)


# ---------------------------------------------------------------------------------------
# series by series, on real headers and on synthetic data
# ---------------------------------------------------------------------------------------

def _report(label: str, compared: int, mismatches: list) -> None:
    print(f"\n{label}: IDC yields a row for {compared} series; {compared - len({m[0] for m in mismatches})} agree on every IDC column")
    for m in mismatches[:20]:
        print("  mismatch:", m)


@pytest.mark.shared_data
def test_real_headers_agree_with_idc(real_headers, tmp_path_factory):
    db = built_once(str(real_headers), tmp_path_factory.mktemp("real_geometry"))
    ours = series_geometry_frame(db)
    idc = idc_reference_frame(str(real_headers))
    compared, mismatches = compare_with_idc(ours, idc)
    _report("real headers", compared, mismatches)
    assert compared == len(idc) > 50
    assert mismatches == []
    # where IDC has a row, we say so
    assert set(ours.index[ours.idc_in_scope]) == set(idc.index)


@pytest.fixture(scope="module")
def synthetic_instances(tmp_path_factory) -> str:
    """idc-qc synth (faults three times as frequent as by default) plus hand-made edge cases."""
    from idc_qc.synth import FaultRates, synthesize

    out = tmp_path_factory.mktemp("synth_compat")
    rates = FaultRates(**{k: 3 * v for k, v in FaultRates().as_dict().items()})
    result = synthesize(out, series_limit=1500, seed=7, rates=rates)
    write_instances(edge_case_rows(), out / "instances" / "part-edge-cases.parquet")
    return result.instances_glob


def test_synthetic_series_agree_with_idc(synthetic_instances, tmp_path_factory):
    db = built_once(synthetic_instances, tmp_path_factory.mktemp("synth_geometry"))
    ours = series_geometry_frame(db)
    idc = idc_reference_frame(synthetic_instances)
    compared, mismatches = compare_with_idc(ours, idc)
    _report("synthetic", compared, mismatches)
    assert compared == len(idc) > 1000
    assert mismatches == []
    # IDC's NULL verdicts (one instance) are ours too; our category is never NULL
    assert ours.loc[idc.index[idc.regularly_spaced_3d_volume.isna()], "regularly_spaced_3d_volume"].isna().all()
    assert ours.geometry_category.notna().all()
