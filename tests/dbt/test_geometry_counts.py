"""Every input series appears in series_geometry, with a category: count in = count out."""

from __future__ import annotations

import duckdb
import pytest

from support.geometry import SeriesSpec, built_once, series_count, series_rows, write_instances

pytestmark = pytest.mark.slow


def _check(db, instances):
    with duckdb.connect(str(db), read_only=True) as con:
        out, uncategorised, keys = con.execute(
            "select count(*), count(*) - count(geometry_category), count(distinct SeriesInstanceUID) from series_geometry"
        ).fetchall()[0]
        # regular volumes have no failure reason, every other category at least one
        inconsistent = con.execute(
            "select count(*) from series_geometry"
            " where (geometry_category = 'regular_volume') <> (len(failure_reasons) = 0)"
        ).fetchall()[0][0]
        orphans = con.execute(
            "select count(*) from instance_geometry where SeriesInstanceUID not in (select SeriesInstanceUID from series_geometry)"
        ).fetchall()[0][0]
        # every input row is accounted for: an instance of a series (once), a repeated row, or unusable
        accounted = con.execute(
            "select (select sum(instance_count + duplicated_instance_row_count) from series_geometry)"
            " + (select count(*) from unusable_instances)"
        ).fetchall()[0][0]
        input_rows = con.execute(f"select count(*) from read_parquet('{instances}', union_by_name = true)").fetchall()[0][0]
    assert out == keys == series_count(instances)
    assert uncategorised == 0 and inconsistent == 0 and orphans == 0
    assert accounted == input_rows


@pytest.mark.shared_data
def test_count_in_equals_count_out_on_real_headers(real_headers, tmp_path_factory):
    _check(built_once(str(real_headers), tmp_path_factory.mktemp("real_geometry")), str(real_headers))


def test_count_in_equals_count_out_with_series_without_geometry(tmp_path):
    """Series whose instances carry no position at all still appear, as missing_geometry."""
    rows = series_rows(SeriesSpec(uid="1.2.3.regular", n=5))
    for row in series_rows(SeriesSpec(uid="1.2.3.no_positions", n=3)):
        row.update(ImagePositionPatient=None, ImageOrientationPatient=None)
        rows.append(row)
    for row in series_rows(SeriesSpec(uid="1.2.3.dose_report", n=2, sop_class="1.2.840.10008.5.1.4.1.1.7")):
        row.update(ImagePositionPatient=None, ImageOrientationPatient=None, PixelSpacing=None)
        rows.append(row)
    path = write_instances(rows, tmp_path / "instances.parquet")
    db = built_once(str(path), tmp_path)
    _check(db, str(path))
    with duckdb.connect(str(db), read_only=True) as con:
        got = dict(con.execute("select SeriesInstanceUID, geometry_category from series_geometry").fetchall())
    assert got == {"1.2.3.regular": "regular_volume", "1.2.3.no_positions": "missing_geometry",
                   "1.2.3.dose_report": "missing_geometry"}
