"""`idc-qc diff` over real IDC releases, against figures computed here independently (pyarrow's
compute: group_by, is_in, join; not DuckDB SQL) from the same parquet files."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from support.cli import run_cli
from support.releases import release_or_skip
from idc_qc.database.files import failures_path as qc_failures_path
from idc_qc.releases.diff import diff_releases


def _index(release: int) -> pa.Table:
    """A release's series: SeriesInstanceUID, collection_id, PatientID, instanceCount and
    crdc_series_uuid (null where the index has none), read with pyarrow."""
    path = release_or_skip(release).index
    names = pq.read_schema(path).names
    columns = ["SeriesInstanceUID", "collection_id", "PatientID", "instanceCount"]
    table = pq.read_table(path, columns=columns + [c for c in ("crdc_series_uuid",) if c in names])
    if "crdc_series_uuid" not in table.column_names:
        table = table.append_column("crdc_series_uuid", pa.nulls(table.num_rows, pa.string()))
    # some releases write large_string: one type for every release, so that they join
    return table.cast(pa.schema([(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type)
                                 for f in table.schema]))


@pytest.fixture(scope="module")
def indices():
    return {r: _index(r) for r in (20, 23, 25)}


def _per_collection(table: pa.Table, side: str) -> dict[str, Counter]:
    counts = table.group_by("collection_id").aggregate([("SeriesInstanceUID", "count"), ("instanceCount", "sum")])
    return {c: Counter({f"series_{side}": n, f"instances_{side}": i or 0}) for c, n, i in zip(
        counts["collection_id"].to_pylist(), counts["SeriesInstanceUID_count"].to_pylist(),
        counts["instanceCount_sum"].to_pylist())}


def _only_in(table: pa.Table, other: pa.Table) -> pa.Table:
    """The series of ``table`` that ``other`` does not list."""
    listed = pc.is_in(table["SeriesInstanceUID"], value_set=other["SeriesInstanceUID"].combine_chunks())
    return table.filter(pc.invert(listed))


def _expected(a: pa.Table, b: pa.Table) -> dict:
    """The diff's figures computed with pyarrow (group_by, is_in, join) and Python counters."""
    added, removed = _only_in(b, a), _only_in(a, b)
    per: dict[str, Counter] = {}
    for side, table in (("a", a), ("b", b)):
        for collection, counts in _per_collection(table, side).items():
            per.setdefault(collection, Counter()).update(counts)
    for table, key in ((added, "added"), (removed, "removed")):
        for collection, n in Counter(table["collection_id"].to_pylist()).items():
            per.setdefault(collection, Counter())[key] += n
    # Revised, another way: IDC gives each version of a series its own crdc_series_uuid.
    joined = a.select(["SeriesInstanceUID", "crdc_series_uuid"]).join(
        b.select(["SeriesInstanceUID", "crdc_series_uuid"]), "SeriesInstanceUID", join_type="inner", right_suffix="_b")
    same = pc.fill_null(pc.equal(joined["crdc_series_uuid"], joined["crdc_series_uuid_b"]), False)
    both_null = pc.and_(pc.is_null(joined["crdc_series_uuid"]), pc.is_null(joined["crdc_series_uuid_b"]))
    return {
        "added": added.num_rows, "removed": removed.num_rows, "kept": joined.num_rows,
        "revised": joined.num_rows - pc.sum(pc.or_(same, both_null)).as_py(),
        "collections_a": set(pc.unique(a["collection_id"]).to_pylist()),
        "collections_b": set(pc.unique(b["collection_id"]).to_pylist()),
        "patients_a": pc.count_distinct(a["PatientID"]).as_py(), "patients_b": pc.count_distinct(b["PatientID"]).as_py(),
        "per_collection": per,
    }


@pytest.mark.slow  # three real indices (~1M series each)
@pytest.mark.parametrize("ra, rb", [(20, 25), (23, 25), (20, 23)])
def test_diff_figures_equal_independent_figures(indices, ra, rb):
    got = diff_releases(ra, rb)
    want = _expected(indices[ra], indices[rb])
    assert (got.series_added, got.series_removed, got.series_kept) == (want["added"], want["removed"], want["kept"])
    assert got.series_revised == want["revised"]
    assert (got.a.series, got.b.series) == (indices[ra].num_rows, indices[rb].num_rows)
    assert (got.a.patients, got.b.patients) == (want["patients_a"], want["patients_b"])
    assert set(got.collections_added) == want["collections_b"] - want["collections_a"]
    assert set(got.collections_removed) == want["collections_a"] - want["collections_b"]
    assert len(got.collections) == len(want["collections_a"] | want["collections_b"])
    for change in got.collections:
        expected = want["per_collection"].get(change.collection_id, Counter())
        assert (change.series_a, change.series_b, change.instances_a, change.instances_b,
                change.series_added, change.series_removed) == (
            expected["series_a"], expected["series_b"], expected["instances_a"], expected["instances_b"],
            expected["added"], expected["removed"]), change.collection_id
    assert sum(c.series_revised for c in got.collections) == got.series_revised


def test_v20_to_v25_matches_the_figures_in_the_issue():
    """The reference computed when the issue was filed (issue 10), from the same public files."""
    got = diff_releases(20, 25)
    assert (got.series_added, got.series_removed, got.series_kept) == (96_853, 242, 947_338)
    assert (got.a.series, got.a.collections, got.b.series, got.b.collections) == (947_580, 149, 1_044_191, 179)


def _write_failures(path, index: pa.Table, flagged: pa.Table) -> set[tuple]:
    """QC failures as `idc-qc check` writes them, for the ``flagged`` series of ``index``; returns the keys."""
    rows = [(c, uid, "series", "single_instance_series", str(n)) for uid, c, n in zip(
        flagged["SeriesInstanceUID"].to_pylist(), flagged["collection_id"].to_pylist(),
        flagged["instanceCount"].to_pylist())]
    columns = list(zip(*rows)) if rows else [[]] * 5
    names = ["collection_id", "SeriesInstanceUID", "suite", "check_name", "observed"]
    pq.write_table(pa.table({n: pa.array(list(c), pa.string()) for n, c in zip(names, columns)}), path)
    return {row[:4] for row in rows}


@pytest.mark.slow
def test_qc_failures_new_fixed_unchanged(indices, tmp_path):
    """Two builds with QC results: each side flags its series with a single instance."""
    db_a, db_b = tmp_path / "v20" / "idc_qc.duckdb", tmp_path / "v25" / "idc_qc.duckdb"
    db_a.parent.mkdir(), db_b.parent.mkdir()

    def single(index: pa.Table) -> pa.Table:  # series with a single instance, in TCGA
        return index.filter(pc.and_(pc.equal(index["instanceCount"], 1),
                                    pc.starts_with(index["collection_id"], "tcga")))

    fa = _write_failures(qc_failures_path(db_a), indices[20], single(indices[20]))
    fb = _write_failures(qc_failures_path(db_b), indices[25], single(indices[25]))
    got = diff_releases(20, 25, db_a=db_a, db_b=db_b)
    assert got.qc is not None and got.qc_totals() == {"new": len(fb - fa), "fixed": len(fa - fb),
                                                      "unchanged": len(fa & fb)}
    per = Counter((k[0], "fixed") for k in fa - fb) + Counter((k[0], "new") for k in fb - fa)
    for change in got.qc:
        assert (change.new, change.fixed) == (per[(change.collection_id, "new")], per[(change.collection_id, "fixed")])
    removed = set(_only_in(indices[20], indices[25])["SeriesInstanceUID"].to_pylist())
    assert sum(q.fixed_series_removed for q in got.qc) == len({k for k in fa - fb if k[1] in removed})


def test_without_qc_results_the_diff_says_so(tmp_path):
    got = diff_releases(20, 25, db_a=tmp_path / "v20" / "idc_qc.duckdb", db_b=tmp_path / "v25" / "idc_qc.duckdb")
    assert got.qc is None and "QC failures not compared" in got.qc_note and "idc-qc check" in got.qc_note


def test_diff_command_prints_tables_and_writes_csv(tmp_path):
    release_or_skip(20)
    result = run_cli("diff", "v20", "v25", "--csv", str(tmp_path / "csv"), "--releases-dir", str(tmp_path / "none"))
    assert result.returncode == 0, result.stderr
    assert "96,853" in result.stdout and "947,338" in result.stdout and "QC failures not compared" in result.stdout
    import duckdb

    rows = duckdb.connect().execute(
        "select sum(series_added), sum(series_removed), count(*) from read_csv(?)",
        [str(tmp_path / "csv" / "diff_v20_v25_collections.csv")]).fetchall()[0]
    assert rows == (96_853, 242, 179)
    assert run_cli("diff", "v25", "v20").returncode == 2
