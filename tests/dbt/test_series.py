"""The harmonized `series` mart over IDC's real index and real DICOM headers."""

from __future__ import annotations

import pytest

from support.data import query

pytestmark = pytest.mark.slow


def test_series_covers_the_full_real_index(index_only_db):
    import duckdb
    import idc_index_data

    expected = duckdb.connect().execute(
        "select count(*) from read_parquet(?)", [str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)]
    ).fetchall()[0][0]
    rows, in_index, with_metadata = query(
        index_only_db, "select count(*), count(*) filter (where in_idc_index), count(*) filter (where has_instance_metadata) from series"
    )[0]
    assert rows == in_index == expected > 1_000_000
    assert with_metadata == 0


def test_release_columns_come_from_the_index_and_prior_versions(index_only_db):
    (current,) = query(index_only_db, "select max(idc_version) from stg_idc_index__releases")[0]
    bad = query(index_only_db, """
        select count(*) from series
        where last_idc_release != ? or first_idc_release > last_idc_release or first_idc_release is null
           or first_release_date > last_release_date
    """, [current])[0][0]
    assert bad == 0
    # Series published before their current version: prior_versions pulls first release back.
    assert query(index_only_db, """
        select count(*) from series s join stg_idc_index__series i using (SeriesInstanceUID)
        where s.first_idc_release < i.series_init_idc_version
    """)[0][0] > 0


def test_manufacturer_harmonization_on_real_values(index_only_db):
    rows = dict(query(index_only_db, """
        select Manufacturer, min(manufacturer_harmonized) from series
        where Manufacturer in ('SIEMENS', 'Siemens Healthineers', 'GE MEDICAL SYSTEMS', 'GE_MEDICAL_SYSTEMS',
                               'Philips Medical Systems', 'TOSHIBA', 'Unknown manufacturer', 'QIICR')
        group by 1
    """))
    assert rows["SIEMENS"] == rows["Siemens Healthineers"] == "Siemens"
    assert rows["GE MEDICAL SYSTEMS"] == rows["GE_MEDICAL_SYSTEMS"] == "GE"
    assert rows["Philips Medical Systems"] == "Philips"
    assert rows["TOSHIBA"] == "Canon"
    assert rows["Unknown manufacturer"] is None
    assert rows["QIICR"] == "QIICR"  # unmapped values stay as written


def test_malformed_real_ages_become_null_with_a_flag(index_only_db):
    rows = query(index_only_db, """
        select PatientAge, patient_age_years, patient_age_status from series
        where PatientAge in ('042y', '90', 'N-A', '065Y') group by all
    """)
    by_value = {r[0]: r[1:] for r in rows}
    assert by_value["065Y"] == (65.0, "valid")
    for malformed in ("042y", "90", "N-A"):
        assert by_value[malformed] == (None, "malformed")


def test_every_real_header_series_is_accounted_for(real_headers_db, real_headers):
    import duckdb

    expected = duckdb.connect().execute(
        "select count(distinct SeriesInstanceUID) from read_parquet(?)", [str(real_headers)]
    ).fetchall()[0][0]
    rows = query(real_headers_db, """
        select count(*), sum(metadata_instance_count), count(viewer_url) from series where has_instance_metadata
    """)[0]
    assert rows[0] == expected
    assert rows[1] == query(real_headers_db, "select count(*) from stg_dicom__instances")[0][0]
    assert rows[2] == 0  # none of these test series is in IDC: no viewer link to a missing series
