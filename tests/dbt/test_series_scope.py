"""The scope of the `series` mart (dbt var series_scope) and the viewer links of the marts.

With instances, `idc-qc build` gives `series` the input's series only (joined with IDC's index
where they are in it); `whole_index=True` adds every other series of the index (slow: 1M rows).
The input mixes real IDC series (CT and a slide-microscopy series, from the installed index)
with one series IDC does not hold.
"""

from __future__ import annotations

import pytest

from support.data import query
from support.geometry import SeriesSpec, series_rows, write_instances

OHIF = "https://viewer.imaging.datacommons.cancer.gov/v3/viewer/"
SLIM = "https://viewer.imaging.datacommons.cancer.gov/slim/studies/"
FAKE = "1.2.826.0.1.3680043.8.498.424242"


def _index_series(modality: str, n: int) -> list[tuple[str, str]]:
    import duckdb
    import idc_index_data

    return duckdb.connect().execute(
        "select SeriesInstanceUID, StudyInstanceUID from read_parquet(?) where Modality = ? order by SeriesInstanceUID limit ?",
        [str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH), modality, n],
    ).fetchall()


@pytest.fixture(scope="module")
def scoped_input(tmp_path_factory):
    rows = []
    real = [("CT", s) for s in _index_series("CT", 3)] + [("SM", s) for s in _index_series("SM", 1)]
    for modality, (series_uid, study_uid) in real:
        spec = SeriesSpec(uid=series_uid, n=4 if modality == "CT" else 1, modality=modality)
        for row in series_rows(spec):
            row["StudyInstanceUID"] = study_uid
            rows.append(row)
    rows += series_rows(SeriesSpec(uid=FAKE, n=5))
    path = write_instances(rows, tmp_path_factory.mktemp("scope") / "instances.parquet")
    return path, real


def _build(path, folder, **kwargs):
    from idc_qc.build import build

    db = folder / "idc_qc.duckdb"
    build(db, str(path), select=["+series", "+series_geometry", "+instance_geometry"], **kwargs)
    return db


@pytest.fixture(scope="module")
def input_scope_db(scoped_input, tmp_path_factory):
    return _build(scoped_input[0], tmp_path_factory.mktemp("input_scope"))


@pytest.mark.slow  # a real dbt build
def test_input_scope_covers_the_input_series_only(input_scope_db, scoped_input):
    _, real = scoped_input
    rows = dict(query(input_scope_db, "select SeriesInstanceUID, in_idc_index from series"))
    assert set(rows) == {uid for _, (uid, _) in real} | {FAKE}
    assert rows[FAKE] is False and all(rows[uid] for _, (uid, _) in real)


@pytest.mark.slow  # a real dbt build
def test_viewer_urls_as_idc_builds_them(input_scope_db, scoped_input):
    """OHIF v3 with initialSeriesInstanceUID, Slim for slide microscopy, none outside IDC; the
    same link in series and series_geometry (one macro)."""
    _, real = scoped_input
    urls = dict(query(input_scope_db, "select SeriesInstanceUID, viewer_url from series"))
    geometry_urls = dict(query(input_scope_db, "select SeriesInstanceUID, viewer_url from series_geometry"))
    for modality, (series_uid, study_uid) in real:
        expected = (f"{SLIM}{study_uid}/series/{series_uid}" if modality == "SM"
                    else f"{OHIF}?StudyInstanceUIDs={study_uid}&initialSeriesInstanceUID={series_uid}")
        assert urls[series_uid] == geometry_urls[series_uid] == expected
    assert urls[FAKE] is None and geometry_urls[FAKE] is None


@pytest.mark.slow  # a real dbt build
def test_geometry_marts_carry_the_context_columns(input_scope_db, scoped_input):
    _, real = scoped_input
    ct_uid, ct_study = real[0][1]
    row = query(input_scope_db, """
        select collection_id, PatientID, StudyInstanceUID, SeriesDescription, Modality
        from series_geometry where SeriesInstanceUID = ?""", [ct_uid])[0]
    assert row == ("synthetic", "synthetic", ct_study, None, "CT")


@pytest.mark.slow  # a real dbt build
def test_series_scope_var_rejects_other_values(scoped_input, tmp_path):
    from idc_qc.build import build
    from idc_qc.errors import IdcQcError

    with pytest.raises(IdcQcError, match="Compilation Error in model series"):
        build(tmp_path / "x.duckdb", str(scoped_input[0]), select=["series"], extra_vars={"series_scope": "everything"})


@pytest.mark.slow
def test_whole_index_adds_every_index_series(scoped_input, tmp_path_factory):
    import duckdb
    import idc_index_data

    db = _build(scoped_input[0], tmp_path_factory.mktemp("index_scope"), whole_index=True)
    in_index = duckdb.connect().execute(
        "select count(*) from read_parquet(?)", [str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)]).fetchall()[0][0]
    rows, with_metadata = query(db, "select count(*), count(*) filter (where has_instance_metadata) from series")[0]
    assert rows == in_index + 1 > 1_000_000  # the index and the one input series IDC lacks
    assert with_metadata == len(scoped_input[1]) + 1
