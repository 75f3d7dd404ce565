"""Bad values and real-world noise, judged right: one hand-made series per case
(support.geometry.bad_value_cases), built once, each asserted on its category, reasons,
numbers and the rows instance_geometry lists for it. Every case was judged wrong before
(issue 7; the report of branch geom-robust has the before/after tables).
"""

from __future__ import annotations

import duckdb
import pytest

from support.geometry import (
    bad_value_case_uid,
    bad_value_cases,
    built_once,
    instance_geometry_frame,
    series_geometry_frame,
    unusable_rows,
    write_instances,
)

pytestmark = pytest.mark.slow

UID = bad_value_case_uid


def _write_text_rows(folder) -> int:
    """A second input file whose Rows column is text, 'abc' on every instance (DuckDB reads
    the two files' Rows as VARCHAR together, as it would an export that wrote it as text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from idc_qc.instances import schema as instance_schema
    from support.geometry import SeriesSpec, series_rows

    rows = series_rows(SeriesSpec(uid=UID("text_rows"), n=20, spacing=2.5, origin=(-100.0, -120.0, 40.0)))
    for row in rows:
        row["Rows"] = "abc"
    schema = instance_schema.arrow_schema()
    schema = schema.set(schema.get_field_index("Rows"), pa.field("Rows", pa.string()))
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "text_rows.parquet")
    return len(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_values")
    rows = [row for case_rows in bad_value_cases().values() for row in case_rows] + unusable_rows()
    write_instances(rows, folder / "instances" / "instances.parquet")
    text_rows = _write_text_rows(folder / "instances")
    db = built_once(str(folder / "instances"), folder)
    return db, series_geometry_frame(db), instance_geometry_frame(db), len(rows) + text_rows


def listed(instances, case: str) -> set[tuple[str, str]]:
    """(reason, SOPInstanceUID suffix after the series UID) of the rows listed for a case."""
    uid = UID(case)
    rows = instances[instances.SeriesInstanceUID == uid]
    return {(r.reason, r.SOPInstanceUID[len(uid) + 1:]) for r in rows.itertuples()}


# --- orientation and pixel spacing compared as numbers ------------------------------------

@pytest.mark.parametrize(("case", "idc_check"), [("cosine_roundoff", "single_orientation"),
                                                 ("pixel_spacing_text", "consistent_pixel_spacing")])
def test_values_written_differently_are_one_value(built, case, idc_check):
    """1.000000 / 0.999999 / -0 / 1.0, and 0.5 / 0.50: one orientation, one pixel spacing.
    IDC's columns keep IDC's string comparison, and say that it alone fails the series."""
    _, series, instances, _ = built
    row = series.loc[UID(case)]
    assert row.geometry_category == "regular_volume" and list(row.failure_reasons) == []
    assert not row[idc_check] and not row.regularly_spaced_3d_volume   # IDC's verdict, unchanged
    assert row.idc_string_comparison_only
    assert list(row.geometry_notes) == ["IDC string comparison only"]
    assert listed(instances, case) == set()


# --- the nominal spacing and near-duplicates ----------------------------------------------

def test_a_near_duplicate_is_a_duplicate_position_not_missing_slices(built):
    """34 slices and one 0.001 mm from slice 17 (before: 'missing slices', 82,466 of them)."""
    _, series, instances, _ = built
    row = series.loc[UID("near_duplicate")]
    assert row.geometry_category == "irregular_volume"
    assert list(row.failure_reasons) == ["duplicate slice positions"]
    assert row.missing_slice_count == 0
    assert row.nominal_slice_spacing_mm == pytest.approx(2.5)
    assert row.duplicate_position_count == 1
    assert row.duplicate_position_distance_mm == pytest.approx(0.001, abs=1e-6)
    assert row.unique_slice_positions and not row.uniform_slice_spacing   # IDC's checks
    assert listed(instances, "near_duplicate") == {("duplicate slice position", "0.17"),
                                                   ("duplicate slice position", "0.near")}


# --- decimal strings by the DICOM DS grammar ----------------------------------------------

@pytest.mark.parametrize(("case", "status"), [("underscore_decimal", "non_numeric"), ("nan_position", "nan"),
                                              ("infinity_position", "nan"), ("overflow_position", "nan")])
def test_a_position_that_is_no_finite_decimal_string_is_malformed(built, case, status):
    """1_000 (before: read as 1000, 365 'missing slices'), NaN, Infinity, 1e309 (before: every
    instance 'off-axis' with NaN offsets): the one instance is malformed, nothing else listed."""
    _, series, instances, _ = built
    row = series.loc[UID(case)]
    assert row.geometry_category == "malformed_geometry"
    assert list(row.failure_reasons) == ["malformed ImagePositionPatient"]
    assert row.ipp_malformed_count == 1 and row.missing_slice_count == 0
    assert listed(instances, case) == {("malformed ImagePositionPatient", "0.10")}
    offending = instances[instances.SeriesInstanceUID == UID(case)].iloc[0]
    assert offending.ipp_status == status
    assert offending.slice_position_mm is None or offending.slice_position_mm != offending.slice_position_mm  # NULL


# --- pixel spacing and matrix sizes that cannot be ----------------------------------------

@pytest.mark.parametrize(("case", "reason", "count_column"), [
    ("zero_pixel_spacing", "malformed PixelSpacing", "pixel_spacing_malformed_count"),
    ("negative_pixel_spacing", "malformed PixelSpacing", "pixel_spacing_malformed_count"),
    ("zero_rows", "malformed Rows or Columns", "dimensions_malformed_count"),
    ("negative_columns", "malformed Rows or Columns", "dimensions_malformed_count"),
])
def test_non_positive_spacing_or_matrix_is_malformed(built, case, reason, count_column):
    """Before: a regular_volume with no reason."""
    _, series, instances, _ = built
    row = series.loc[UID(case)]
    assert row.geometry_category == "malformed_geometry"
    assert list(row.failure_reasons) == [reason]
    assert row[count_column] == 20
    assert listed(instances, case) == {(reason, f"0.{k}") for k in range(20)}
    if "PixelSpacing" in reason:
        assert set(instances[instances.SeriesInstanceUID == UID(case)].pixel_spacing_status) == {"non_positive"}


def test_rows_written_as_no_integer_is_malformed_not_missing(built):
    """Issue 23: Rows='abc' read as "missing Rows or Columns" with dimensions_malformed_count 0."""
    _, series, instances, _ = built
    row = series.loc[UID("text_rows")]
    assert row.geometry_category == "malformed_geometry"
    assert list(row.failure_reasons) == ["malformed Rows or Columns"]
    assert row.dimensions_malformed_count == 20
    assert listed(instances, "text_rows") == {("malformed Rows or Columns", f"0.{k}") for k in range(20)}


@pytest.mark.parametrize("case", ["zero_pixel_spacing", "negative_pixel_spacing", "zero_rows", "negative_columns"])
def test_idc_regular_on_malformed_values_is_annotated(built, case):
    """Issue 23: PixelSpacing -0.7 or Rows 0 on every slice: IDC's verdict is TRUE (its checks
    find the values equal), kept as IDC's, and annotated; our category says malformed."""
    _, series, _, _ = built
    row = series.loc[UID(case)]
    assert row.regularly_spaced_3d_volume                        # IDC's semantics, exactly
    assert row.idc_regular_on_malformed_values
    assert list(row.geometry_notes) == ["IDC regular on malformed values"]
    assert row.geometry_category == "malformed_geometry"


def test_counts_of_regular_volumes_count_geometry_category(built):
    """Issue 23: the build summary counted IDC's TRUE on malformed values among the regular
    volumes ("8 are regular" where 5 are); it counts geometry_category now and says IDC's
    count beside it (the geometry summary's line is checked in tests/reports)."""
    from idc_qc.cli.build import _idc_verdict
    from idc_qc.reports.geometry_summary import verdict_line
    from idc_qc.warehouse import summarize

    db, series, _, _ = built
    regular = int((series.geometry_category == "regular_volume").sum())
    idc = int(series.regularly_spaced_3d_volume.fillna(False).astype(bool).sum())
    on_malformed = int(series.idc_regular_on_malformed_values.sum())
    assert on_malformed >= 4 and regular < idc
    summary = summarize(db)
    assert (summary.regular_volumes, summary.idc_regular_volumes, summary.idc_regular_on_malformed_values) == \
        (regular, idc, on_malformed)
    assert _idc_verdict(summary) == f"; IDC's regularly_spaced_3d_volume says {idc:,}, {on_malformed:,} of them on malformed values"
    assert verdict_line(regular, idc, on_malformed).endswith(
        f"TRUE for {idc:,}, {on_malformed:,} of them only on malformed values (malformed_geometry here)")


# --- the same SOPInstanceUID twice ----------------------------------------------------------

def test_rows_listed_twice_count_once(built):
    """Every row twice (before: multi_stack, 'several stacks in one series')."""
    _, series, instances, _ = built
    row = series.loc[UID("duplicated_rows")]
    assert row.geometry_category == "regular_volume" and list(row.failure_reasons) == []
    assert row.instance_count == 20 and row.duplicated_instance_row_count == 20
    assert row.conflicting_duplicate_instance_count == 0 and row.duplicate_position_count == 0
    assert list(row.geometry_notes) == ["duplicated instance rows"]
    assert row.regularly_spaced_3d_volume
    assert listed(instances, "duplicated_rows") == set()


def test_one_instance_with_two_positions_is_a_reason_of_its_own(built):
    """Slice 5 listed twice, 1 mm apart (before: 'non-uniform slice spacing', 19 'before a gap')."""
    _, series, instances, _ = built
    row = series.loc[UID("conflicting_duplicate")]
    assert row.geometry_category == "malformed_geometry"
    assert list(row.failure_reasons) == ["conflicting duplicate instances"]
    assert row.instance_count == 20 and row.duplicated_instance_row_count == 1
    assert row.conflicting_duplicate_instance_count == 1
    assert listed(instances, "conflicting_duplicate") == {("conflicting duplicate instance", "0.5")}


# --- rows without a series or instance UID ------------------------------------------------

def test_rows_without_uids_are_listed_and_the_rest_builds(built):
    """Before: the not_null tests on staging failed the build; no geometry at all."""
    db, series, _, input_rows = built
    assert series.loc[UID("usable")].geometry_category == "regular_volume"
    assert UID("stray") not in series.index   # its rows are all unusable
    with duckdb.connect(str(db), read_only=True) as con:
        unusable = con.execute("select reason, SeriesInstanceUID, SOPInstanceUID, StudyInstanceUID from unusable_instances"
                               " order by reason, SOPInstanceUID").fetchall()
        accounted = con.execute("select sum(instance_count + duplicated_instance_row_count) from series_geometry").fetchall()[0][0]
    stray = UID("stray")
    assert unusable == [
        ("missing SOPInstanceUID", stray, "", f"{stray}.study"),
        ("missing SOPInstanceUID", stray, None, f"{stray}.study"),
        ("missing SeriesInstanceUID", None, f"{stray}.0.0", f"{stray}.study"),
        ("missing SeriesInstanceUID", " ", f"{stray}.0.1", f"{stray}.study"),
    ]
    # every input row is accounted for
    assert accounted + len(unusable) == input_rows
