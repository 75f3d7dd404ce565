"""Cohort manifests over IDC's real v25 index (idc-index-data), and their check against another index.

The "other release" is derived here from the v25 index (its rows of the cohort's collection): two of the cohort's series removed
(lost), three given a new crdc_series_uuid (revised, as IDC does when a series changes), one
new series of the same collection and modality (gained). The check must find exactly those.
A cached older release (idc_qc.releases' cache) is used too when one is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from idc_qc.query.cohort import CohortError, check_cohort, create_cohort, read_manifest
from idc_qc.query.selection import Selection
from support.query import make_warehouse

COLLECTION, MODALITY = "lidc_idri", "CT"


def _index_dir() -> Path:
    import idc_index_data

    return Path(idc_index_data.__file__).resolve().parent


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("cohort_db"), index_dir=_index_dir())


@pytest.fixture(scope="module")
def cohort(db, tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort") / "lidc_ct.json"
    return create_cohort(db, out, filters=Selection(collection=[COLLECTION], modality=[MODALITY]))


def test_manifest_lists_the_series_as_the_index_has_them(cohort):
    index = _index_dir() / "idc_index.parquet"
    expected = duckdb.sql(
        f"select SeriesInstanceUID, crdc_series_uuid, series_aws_url, source_DOI, license_short_name, instanceCount "
        f"from '{index}' where collection_id = '{COLLECTION}' and Modality = '{MODALITY}' order by 1").fetchall()
    m = json.loads(cohort.path.read_text())
    got = [(s["SeriesInstanceUID"], s["crdc_series_uuid"], s["series_aws_url"], s["source_DOI"], s["license_short_name"],
            s["instanceCount"]) for s in m["series"]]
    assert got == expected and len(got) > 100
    assert m["counts"] == {"series": len(expected), "series_with_download_url": len(expected),
                           "instances": sum(r[5] for r in expected), "size_MB": m["counts"]["size_MB"]}
    assert m["idc_release"] == "v25" and m["toolkit_version"] and m["query"]["sha256"]
    assert {c["collection_id"] for c in m["citations"]} == {COLLECTION}
    assert all(c["source_DOI"] and c["license_short_name"] for c in m["citations"])
    # the s5cmd file: one cp line per series, IDC's bucket URL
    lines = cohort.s5cmd_path.read_text().splitlines()
    assert lines == [f"cp {r[2]} ." for r in expected]
    assert all(line.startswith("cp s3://") and line.endswith("/* .") for line in lines)


def test_manifest_records_a_query_that_rebuilds_the_same_cohort(cohort, db, tmp_path):
    m = read_manifest(cohort.path)
    again = create_cohort(db, tmp_path / "again.json", sql=m["query"]["sql"], dialect=m["query"]["dialect"])
    assert [s["SeriesInstanceUID"] for s in again.manifest["series"]] == [s["SeriesInstanceUID"] for s in m["series"]]
    assert again.manifest["query"]["sha256"] == m["query"]["sha256"]


def test_cohort_from_bigquery_sql(db, tmp_path):
    sql = ("SELECT SeriesInstanceUID FROM `bigquery-public-data.idc_current.idc_index` "
           f"WHERE collection_id = '{COLLECTION}' AND Modality = '{MODALITY}' # IDC's own names")
    c = create_cohort(db, tmp_path / "bq.json", sql=sql, dialect="bigquery")
    assert c.series_count > 100 and c.manifest["query"]["dialect"] == "bigquery"


def _derived_release(out: Path, cohort_uids: list[str]) -> dict:
    index = _index_dir() / "idc_index.parquet"
    lost, revised = cohort_uids[:2], cohort_uids[2:5]
    with duckdb.connect() as con:
        con.execute(f"""
            copy (
              select * replace (case when SeriesInstanceUID in ({', '.join(f"'{u}'" for u in revised)})
                                     then 'revised-' || crdc_series_uuid else crdc_series_uuid end as crdc_series_uuid)
              from '{index}'
              where SeriesInstanceUID not in ({', '.join(f"'{u}'" for u in lost)})
                and collection_id = '{COLLECTION}'  -- a small index: the cohort's query filters on it anyway
              union all
              select * replace ('1.2.826.0.1.gained' as SeriesInstanceUID, 'gained-uuid' as crdc_series_uuid)
              from (from '{index}' where collection_id = '{COLLECTION}' and Modality = '{MODALITY}' limit 1)
            ) to '{out}' (format parquet)""")
    return {"lost": lost, "revised": revised, "gained": ["1.2.826.0.1.gained"]}


def test_check_against_another_release_lists_gained_lost_revised(cohort, db, tmp_path):
    uids = [s["SeriesInstanceUID"] for s in cohort.manifest["series"]]
    changes = _derived_release(tmp_path / "idc_index.parquet", uids)
    result = check_cohort(cohort.path, db, index=tmp_path / "idc_index.parquet", release="v99")
    print(f"\ncohort check against the derived index: {len(result.gained)} gained, {len(result.lost)} lost, "
          f"{len(result.revised)} revised, {result.unchanged} unchanged")
    assert [r["SeriesInstanceUID"] for r in result.gained] == changes["gained"]
    assert [r["SeriesInstanceUID"] for r in result.lost] == sorted(changes["lost"])
    assert [r["SeriesInstanceUID"] for r in result.revised] == sorted(changes["revised"])
    assert all(r["crdc_series_uuid_after"] == "revised-" + r["crdc_series_uuid_before"] for r in result.revised)
    assert result.unchanged == len(uids) - 5 and result.release == "v99"


def test_check_against_the_same_release_finds_nothing(cohort, db):
    result = check_cohort(cohort.path, db, index=_index_dir() / "idc_index.parquet")
    assert not result.changed and result.unchanged == cohort.series_count


def test_check_against_a_cached_older_release(cohort, db):
    cached = Path.home() / ".cache" / "idc-qc" / "releases" / "v20" / "idc_index.parquet"
    if not cached.exists():
        pytest.skip("no cached v20 index (idc-qc's release cache)")
    result = check_cohort(cohort.path, db, index=cached)
    expected_lost = duckdb.sql(
        f"select count(*) from '{_index_dir() / 'idc_index.parquet'}' n where collection_id = '{COLLECTION}' "
        f"and Modality = '{MODALITY}' and SeriesInstanceUID not in (select SeriesInstanceUID from '{cached}')").fetchall()[0][0]
    assert result.release == "v20" and len(result.lost) == expected_lost


def test_edited_manifest_is_refused(cohort, tmp_path):
    m = json.loads(cohort.path.read_text())
    m["query"]["sql"] = m["query"]["sql"].replace(COLLECTION, "nlst")
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(m))
    with pytest.raises(CohortError, match="sha256 does not match"):
        read_manifest(edited)


def test_query_without_series_uid_is_refused(db, tmp_path):
    with pytest.raises(CohortError, match="must return a SeriesInstanceUID column"):
        create_cohort(db, tmp_path / "x.json", sql="select collection_id from idc_index limit 1")


def test_cohort_resolved_against_another_index_then_checked_against_the_installed_one(cohort, db, tmp_path):
    """The natural direction: a cohort made on an older release, checked against the newer one."""
    uids = [s["SeriesInstanceUID"] for s in cohort.manifest["series"]]
    changes = _derived_release(tmp_path / "idc_index.parquet", uids)
    older = create_cohort(db, tmp_path / "older.json", filters=Selection(collection=[COLLECTION], modality=[MODALITY]),
                          index=tmp_path / "idc_index.parquet", release="v98")
    assert older.manifest["idc_release"] == "v98" and older.manifest["idc_index_file"].endswith("idc_index.parquet")
    assert older.series_count == len(uids) - 2 + 1
    result = check_cohort(older.path, db, index=_index_dir() / "idc_index.parquet")
    assert [r["SeriesInstanceUID"] for r in result.gained] == sorted(changes["lost"])
    assert [r["SeriesInstanceUID"] for r in result.lost] == changes["gained"]
    assert [r["SeriesInstanceUID"] for r in result.revised] == sorted(changes["revised"])
    assert result.release == "v25"
