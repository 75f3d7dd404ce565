"""Staging of an older IDC release (absent columns and tables, docs/releases.md) compiles for
BigQuery and parses as BigQuery SQL: the fallbacks are plain SQL on both engines."""

from __future__ import annotations

import json

import pytest
import sqlglot

from support.bigquery import strip_comments_and_strings, write_fake_service_account_key

pytestmark = [pytest.mark.bigquery, pytest.mark.slow]


def test_older_release_staging_parses_as_bigquery(tmp_path):
    from idc_qc.bigquery import compile_models

    key = write_fake_service_account_key(tmp_path / "fake-key.json", "idc-qc-offline")
    env = {"IDC_QC_BQ_KEYFILE": str(key), "IDC_QC_BQ_PROJECT": "idc-qc-offline", "IDC_QC_BQ_METHOD": "service-account"}
    vars = {"idc_index_release": "17", "idc_release": "17",
            "idc_index_columns_absent": ["analysis_result_id", "SOPClassUID", "sop_class_name",
                                         "series_init_idc_version", "series_revised_idc_version"],
            "idc_index_tables_absent": ["prior_versions_index", "version_metadata_index", "collections_index"]}
    project = compile_models(target="bigquery", env=env, vars=vars, work_dir=tmp_path,
                             select=["path:models/staging/idc_index"])
    manifest = json.loads(project.manifest_path.read_text())
    compiled = {n["name"]: strip_comments_and_strings(n["compiled_code"]) for n in manifest["nodes"].values()
                if n["resource_type"] == "model" and n.get("compiled_code") and n["name"].startswith("stg_idc_index__")}
    assert set(compiled) == {"stg_idc_index__series", "stg_idc_index__prior_versions", "stg_idc_index__releases",
                             "stg_idc_index__collections"}
    for _name, sql in compiled.items():
        sqlglot.parse_one(sql, read="bigquery")  # raises on SQL BigQuery would not accept
    assert "cast(null as string) as sopclassuid" in compiled["stg_idc_index__series"].lower()
    # no table is read for a file the release does not ship (a source renders as `project`.`dataset`.`table`)
    assert "`" not in compiled["stg_idc_index__prior_versions"] and "`" not in compiled["stg_idc_index__collections"]
    assert "`" not in compiled["stg_idc_index__releases"] and "cast(17 as" in compiled["stg_idc_index__releases"].lower()
    assert "`" in compiled["stg_idc_index__series"]
