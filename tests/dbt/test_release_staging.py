"""Staging over the oldest real release (v17): every table and column it lacks is empty or NULL,
typed, and the build records why (macros/idc_index_column.sql, docs/releases.md)."""

from __future__ import annotations

import pytest

from support.data import query
from support.releases import release_or_skip
from idc_qc.build import build
from idc_qc.database.manifest import read_manifest


@pytest.mark.slow
def test_v17_builds_with_its_missing_tables_and_columns_empty(tmp_path):
    release_or_skip(17)
    db = tmp_path / "v17" / "idc_qc.duckdb"
    result = build(db, release=17, select=["stg_idc_index__series stg_idc_index__prior_versions "
                                           "stg_idc_index__releases stg_idc_index__collections"])
    assert result.release == 17
    series = query(db, "select count(*), count(SOPClassUID), count(analysis_result_id), "
                       "count(series_init_idc_version) from stg_idc_index__series")[0]
    assert series[0] > 500_000 and series[1:] == (0, 0, 0)
    assert query(db, "select count(*) from stg_idc_index__prior_versions")[0][0] == 0
    assert query(db, "select count(*) from stg_idc_index__collections")[0][0] == 0
    assert query(db, "select idc_version, release_date from stg_idc_index__releases") == [(17, None)]
    types = dict(query(db, "select column_name, data_type from information_schema.columns "
                           "where table_name = 'stg_idc_index__series'"))
    assert types["series_init_idc_version"] == "BIGINT" and types["SOPClassUID"] == "VARCHAR"
    manifest = read_manifest(db)
    assert manifest["idc"]["release"] == 17 and "SOPClassUID" in manifest["idc"]["columns_absent"]
    assert manifest["idc"]["tables_absent"]["prior_versions_index"] == "not shipped in this release's wheel"
