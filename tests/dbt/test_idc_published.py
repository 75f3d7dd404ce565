"""IDC's published volume_geometry_index beside our verdicts (series_geometry_vs_idc).

idc-index-data ships the SQL and schema of volume_geometry_index, not the file the idc-index
client downloads; these tests make that file the way IDC does, by running IDC's own query
(transpiled, idc_qc.idc_reference) over the same instances, then change it where a test needs
IDC to say something else."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from idc_qc.errors import IdcQcError
from idc_qc.idc_published import check_published, published_schema_columns, resolve_published
from idc_qc.idc_reference import idc_volume_geometry_sql_duckdb
from support.cli import invoke, one_error_line
from support.data import query, writable_copy


def publish(instances: str, out: Path, *, flip: str | None = None, drop: str | None = None) -> Path:
    """IDC's volume_geometry_index of ``instances`` as a parquet file; ``flip``: that series'
    uniform_slice_spacing and regularly_spaced_3d_volume negated; ``drop``: that series left out."""
    sql = idc_volume_geometry_sql_duckdb(f"read_parquet('{instances}')")
    with duckdb.connect() as con:
        con.execute(f"create table published as {sql}")
        if flip:
            con.execute("update published set uniform_slice_spacing = not uniform_slice_spacing, "
                        "regularly_spaced_3d_volume = not regularly_spaced_3d_volume where SeriesInstanceUID = ?", [flip])
        if drop:
            con.execute("delete from published where SeriesInstanceUID = ?", [drop])
        con.execute(f"copy published to '{out}' (format parquet)")
    return out


def memory(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


# --- finding and checking the file ------------------------------------------------------------

def test_the_schema_is_idcs_own():
    columns = published_schema_columns()
    assert columns[0] == "SeriesInstanceUID" and "regularly_spaced_3d_volume" in columns and len(columns) == 14


def test_nothing_is_read_unless_asked_or_found(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert resolve_published(None, environ={}).path is None
    assert resolve_published("none", environ={}).path is None
    assert resolve_published(None, environ={"IDC_QC_IDC_INDICES": "none"}).path is None
    assert "none read" in resolve_published(None, environ={}).line


def test_found_where_idc_index_downloads_it_and_named_by_the_environment(tmp_path, monkeypatch):
    from idc_qc.paths import idc_index_client_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = idc_index_client_data_dir()
    assert folder is not None and str(folder).startswith(str(tmp_path / "data"))
    folder.mkdir(parents=True)
    columns = ", ".join(f"null::varchar as {c}" if c == "SeriesInstanceUID" else f"null::double as {c}"
                        for c in published_schema_columns())
    with duckdb.connect() as con:
        con.execute(f"copy (select {columns} from range(3)) to '{folder / 'volume_geometry_index.parquet'}' (format parquet)")
    found = resolve_published(None, environ={})
    assert found.path == (folder / "volume_geometry_index.parquet").resolve() and found.series == 3
    assert "idc-index's data folder" in found.line
    named = resolve_published(None, environ={"IDC_QC_IDC_INDICES": str(folder)})
    assert named.path == found.path and named.found_by == "$IDC_QC_IDC_INDICES"


def test_a_file_that_is_not_the_index_is_one_clear_error(tmp_path):
    with pytest.raises(IdcQcError, match="no volume_geometry_index.parquet in"):
        resolve_published(tmp_path, environ={})
    with pytest.raises(IdcQcError, match="does not exist"):
        resolve_published(tmp_path / "missing.parquet", environ={})
    text = tmp_path / "volume_geometry_index.parquet"
    text.write_text("not parquet")
    with pytest.raises(IdcQcError, match="cannot be read as parquet"):
        check_published(text)
    with duckdb.connect() as con:
        con.execute(f"copy (select '1.2' as SeriesInstanceUID, true as single_orientation) to '{text}' (format parquet)")
    with pytest.raises(IdcQcError, match="lacks column.*regularly_spaced_3d_volume"):
        check_published(text)


def test_the_cli_refuses_a_missing_file_in_one_line(tmp_path):
    result = invoke("build", "--db", str(tmp_path / "idc_qc.duckdb"), "--idc-indices", str(tmp_path / "nowhere"))
    line = one_error_line(result)
    assert "nowhere does not exist" in line and "--idc-indices" in line
    assert not (tmp_path / "idc_qc.duckdb").exists()


# --- beside our verdicts ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic_input(tmp_path_factory):
    from idc_qc.synth import synthesize

    root = tmp_path_factory.mktemp("published")
    synth = synthesize(root / "synth", series_limit=30, seed=5)
    idc = idc_volume_geometry_sql_duckdb(f"read_parquet('{synth.instances_glob}')")
    regular = memory(f"select SeriesInstanceUID from ({idc}) where regularly_spaced_3d_volume order by 1")
    assert len(regular) >= 3
    return root, synth.instances_glob, regular[0][0], regular[1][0]


@pytest.fixture(scope="module")
def published_build(synthetic_input):
    """Every model built with IDC's indices in a download folder: its volume_geometry_index made
    by IDC's query, one series' verdict flipped and another's left out, and a ct_index beside it.
    Read-only: a test that writes beside it works on a copy."""
    from idc_qc.build import build

    root, instances, flipped, dropped = synthetic_input
    folder = root / "downloads"
    folder.mkdir()
    published = publish(instances, folder / "volume_geometry_index.parquet", flip=flipped, drop=dropped)
    with duckdb.connect() as con:
        con.execute(f"copy (select SeriesInstanceUID, 'ORIGINAL' as ImageType from '{published}') "
                    f"to '{folder / 'ct_index.parquet'}' (format parquet)")
    db = root / "with" / "idc_qc.duckdb"
    build(db, str(Path(instances).parent), idc_indices=folder)
    return db, published, flipped, dropped


@pytest.mark.slow
def test_idc_verdicts_beside_ours_agree_differ_or_are_absent(published_build):
    from idc_qc.warehouse import summarize

    db, published, flipped, dropped = published_build
    rows = {uid: (comparison, differing) for uid, comparison, differing in query(
        db, "select SeriesInstanceUID, comparison, differing_checks from series_geometry_vs_idc")}
    assert len(rows) == query(db, "select count(*) from series_geometry")[0][0]
    assert rows[flipped] == ("differ", "uniform_slice_spacing, regularly_spaced_3d_volume")
    assert rows[dropped] == ("not in the published index", None)
    others = {v for uid, v in rows.items() if uid not in {flipped, dropped}}
    # every other series IDC's query judged agrees; those it yields no row for are not in its file
    judged = {uid for (uid,) in memory(f"select SeriesInstanceUID from '{published}'")}
    assert {rows[uid] for uid in judged if uid != flipped} == {("agree", None)}
    assert others <= {("agree", None), ("not in the published index", None)}
    assert summarize(db).idc_published_comparison == {
        c: n for c, n in query(db, "select comparison, count(*) from series_geometry_vs_idc group by 1")}
    assert query(db, "select idc_regularly_spaced_3d_volume, ours_regularly_spaced_3d_volume, idc_failed_checks "
                     "from series_geometry_vs_idc where SeriesInstanceUID = ?", [flipped]) == [
        (False, True, "uniform_slice_spacing")]


@pytest.mark.slow
def test_the_report_and_query_show_idcs_indices(published_build, tmp_path):
    """The report's section lists the series that differs with both sides' reasons; `idc-qc query`
    reads IDC's published indices by IDC's names, the ct_index beside the file included."""
    from idc_qc.quality.check import run_checks
    from idc_qc.query.run import list_tables, run_query
    from idc_qc.reports.qc_report import build_report

    built, published, flipped, _ = published_build
    db = writable_copy(built, tmp_path / "report")  # check and report write beside it
    kinds = {r.name: r.kind for r in list_tables(db)}
    assert kinds["volume_geometry_index"] == kinds["ct_index"] == "IDC published index"
    assert "mr_index" not in kinds
    result = run_query(db, "SELECT COUNT(*) AS n FROM `bigquery-public-data.idc_current.volume_geometry_index` AS v "
                           "JOIN `bigquery-public-data.idc_current.ct_index` USING (SeriesInstanceUID)", dialect="bigquery")
    assert result.table.to_pylist() == [{"n": memory(f"select count(*) from '{published}'")[0][0]}]

    run_checks(db)
    page = build_report(db).html.read_text()
    section = page[page.index('<section id="idc-published">'):]
    section = section[:section.index("</section>")]
    assert 'data-comparison="differ" data-count="1"' in section
    assert 'data-comparison="not in the published index" data-count="1"' in section
    assert f'<tr data-series="{flipped}">' in section and "uniform_slice_spacing, regularly_spaced_3d_volume" in section
    assert section.count("<tr data-series=") == 1


@pytest.mark.slow
def test_without_a_published_index_nothing_is_compared(synthetic_input):
    from idc_qc.build import build
    from idc_qc.warehouse import summarize

    root, instances, _, _ = synthetic_input
    db = root / "without" / "idc_qc.duckdb"
    build(db, str(Path(instances).parent), idc_indices="none", select=["+series_geometry_vs_idc"])
    assert query(db, "select distinct comparison from series_geometry_vs_idc") == [("no published index read",)]
    assert summarize(db).idc_published_comparison == {}


@pytest.mark.slow
@pytest.mark.shared_data
def test_on_real_headers_every_series_idc_judges_agrees(real_headers, tmp_path):
    """Real headers with real geometry faults: IDC's verdicts, made by IDC's query, beside ours."""
    from idc_qc.build import build

    published = publish(str(real_headers), tmp_path / "volume_geometry_index.parquet")
    db = tmp_path / "idc_qc.duckdb"
    build(db, str(real_headers), idc_indices=tmp_path, select=["+series_geometry_vs_idc"])
    counts = dict(query(db, "select comparison, count(*) from series_geometry_vs_idc group by 1"))
    judged = memory(f"select count(*), count(*) filter (where not regularly_spaced_3d_volume) from '{published}'")[0]
    assert counts.get("agree") == judged[0] and judged[1] > 0  # real faults among them, and still one verdict
    assert set(counts) <= {"agree", "not in the published index"}
