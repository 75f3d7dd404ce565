"""`idc-qc diff` over real IDC releases, against figures computed here independently (pyarrow and
Python sets, not DuckDB SQL) from the same parquet files."""

from __future__ import annotations

from collections import Counter, defaultdict, namedtuple
from itertools import repeat

import pyarrow.parquet as pq
import pytest

from support.cli import run_cli
from support.releases import release_or_skip
from idc_qc.database.files import failures_path as qc_failures_path
from idc_qc.releases.diff import diff_releases


#: One series of an index: its collection, patient, instances and crdc uuid (None when absent).
Row = namedtuple("Row", "collection_id PatientID instanceCount crdc_series_uuid")


def _index(release: int) -> dict[str, Row]:
    """SeriesInstanceUID -> its Row, read with pyarrow (a million series: tuples, not dicts)."""
    path = release_or_skip(release).index
    names = pq.read_schema(path).names
    columns = ["SeriesInstanceUID", "collection_id", "PatientID", "instanceCount"]
    columns += [c for c in ("crdc_series_uuid",) if c in names]
    table = pq.read_table(path, columns=columns).to_pydict()
    crdc = table.get("crdc_series_uuid") or repeat(None)
    return dict(zip(table["SeriesInstanceUID"],
                    map(Row._make, zip(table["collection_id"], table["PatientID"], table["instanceCount"], crdc))))


@pytest.fixture(scope="module")
def indices():
    return {r: _index(r) for r in (20, 23, 25)}


def _expected(a: dict, b: dict) -> dict:
    kept = a.keys() & b.keys()
    per = defaultdict(Counter)
    for side, index in (("a", a), ("b", b)):
        for row in index.values():
            per[row.collection_id][f"series_{side}"] += 1
            per[row.collection_id][f"instances_{side}"] += row.instanceCount or 0
    for uid in b.keys() - a.keys():
        per[b[uid].collection_id]["added"] += 1
    for uid in a.keys() - b.keys():
        per[a[uid].collection_id]["removed"] += 1
    # Revised, another way: IDC gives each version of a series its own crdc_series_uuid.
    revised = {u for u in kept if a[u].crdc_series_uuid != b[u].crdc_series_uuid}
    return {
        "added": len(b.keys() - a.keys()), "removed": len(a.keys() - b.keys()), "kept": len(kept),
        "revised": len(revised),
        "collections_a": {r.collection_id for r in a.values()},
        "collections_b": {r.collection_id for r in b.values()},
        "patients_a": len({r.PatientID for r in a.values()}),
        "patients_b": len({r.PatientID for r in b.values()}),
        "per_collection": per,
    }


@pytest.mark.slow  # reads three real indices (~1M series each) into Python sets
@pytest.mark.parametrize("ra, rb", [(20, 25), (23, 25), (20, 23)])
def test_diff_figures_equal_independent_figures(indices, ra, rb):
    got = diff_releases(ra, rb)
    want = _expected(indices[ra], indices[rb])
    assert (got.series_added, got.series_removed, got.series_kept) == (want["added"], want["removed"], want["kept"])
    assert got.series_revised == want["revised"]
    assert (got.a.series, got.b.series) == (len(indices[ra]), len(indices[rb]))
    assert (got.a.patients, got.b.patients) == (want["patients_a"], want["patients_b"])
    assert set(got.collections_added) == want["collections_b"] - want["collections_a"]
    assert set(got.collections_removed) == want["collections_a"] - want["collections_b"]
    assert len(got.collections) == len(want["collections_a"] | want["collections_b"])
    for change in got.collections:
        expected = want["per_collection"][change.collection_id]
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


def _write_failures(path, index: dict, rule) -> set[tuple]:
    """QC failures as `idc-qc check` writes them, for the series ``rule`` flags; returns the keys."""
    import pyarrow as pa

    rows = [(r.collection_id, uid, "series", "single_instance_series", str(r.instanceCount))
            for uid, r in index.items() if rule(r)]
    columns = list(zip(*rows)) if rows else [[]] * 5
    names = ["collection_id", "SeriesInstanceUID", "suite", "check_name", "observed"]
    pq.write_table(pa.table({n: pa.array(list(c), pa.string()) for n, c in zip(names, columns)}), path)
    return {row[:4] for row in rows}


@pytest.mark.slow
def test_qc_failures_new_fixed_unchanged(indices, tmp_path):
    """Two builds with QC results: each side flags its series with a single instance."""
    db_a, db_b = tmp_path / "v20" / "idc_qc.duckdb", tmp_path / "v25" / "idc_qc.duckdb"
    db_a.parent.mkdir(), db_b.parent.mkdir()

    def single(r):
        return r.instanceCount == 1 and r.collection_id.startswith("tcga")

    fa = _write_failures(qc_failures_path(db_a), indices[20], single)
    fb = _write_failures(qc_failures_path(db_b), indices[25], single)
    got = diff_releases(20, 25, db_a=db_a, db_b=db_b)
    assert got.qc is not None and got.qc_totals() == {"new": len(fb - fa), "fixed": len(fa - fb),
                                                      "unchanged": len(fa & fb)}
    per = Counter((k[0], "fixed") for k in fa - fb) + Counter((k[0], "new") for k in fb - fa)
    for change in got.qc:
        assert (change.new, change.fixed) == (per[(change.collection_id, "new")], per[(change.collection_id, "fixed")])
    removed = {u for u in indices[20].keys() - indices[25].keys()}
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
