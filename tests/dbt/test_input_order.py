"""The build does not care in which order the instances come (issue 24's guarantee).

synth writes the same rows in series order (default) or shuffled across parts and row groups,
as a BigQuery export of dicom_all or a parallel ingest writes them. Built with every model, the
two give the same rows in every table (EXCEPT ALL both ways), but for what names the build
itself (its id, times and input files).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

#: Tables that describe the build, not the data: ids, times, the input's file names.
ABOUT_THE_BUILD = {"idc_qc_build", "rpt_build_context"}
#: Columns summed in input order by the engine: DuckDB's corr() accumulates its sums as the
#: rows come, so the last digits follow the order (seen: 0.0195337 against 0.0195336). They
#: are compared within a tolerance; the verdict that reads them (|trend| >= 0.99) and every
#: mart and rpt_ model are compared exactly.
SUMMED_IN_INPUT_ORDER = {"int_series__geometry_aggregated": ["in_plane_row_trend", "in_plane_column_trend"]}


def test_synth_shuffled_writes_the_same_rows_interleaved_and_deterministically(tmp_path, monkeypatch):
    from idc_qc import synth

    monkeypatch.setattr(synth, "ROWS_PER_PART", 3_000)
    ordered = synth.synthesize(tmp_path / "series", series_limit=80, seed=5)
    shuffled = synth.synthesize(tmp_path / "shuffled", series_limit=80, seed=5, order="shuffled")
    again = synth.synthesize(tmp_path / "again", series_limit=80, seed=5, order="shuffled")
    parts = sorted((tmp_path / "shuffled" / "instances").glob("*.parquet"))
    assert len(parts) >= 3
    assert [p.read_bytes() for p in parts] == [p.read_bytes() for p in sorted((tmp_path / "again" / "instances").glob("*.parquet"))]
    con = duckdb.connect()
    a, b = f"'{tmp_path}/series/instances/*.parquet'", f"'{tmp_path}/shuffled/instances/*.parquet'"
    assert con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()[0] == 0
    assert con.execute(f"select count(*) from (from {b} except all from {a})").fetchone()[0] == 0
    assert ordered.instances == shuffled.instances == again.instances
    # series order: a series' rows are one run; shuffled: nearly every row starts a new run,
    # and every part holds rows of most series
    runs = "select count(*) filter (where s is distinct from p) from (select SeriesInstanceUID s, lag(SeriesInstanceUID) over () p from {})"
    assert con.execute(runs.format(a)).fetchone()[0] == 80
    assert con.execute(runs.format(b)).fetchone()[0] > 0.8 * shuffled.instances
    for part in parts:
        assert con.execute(f"select count(distinct SeriesInstanceUID) from '{part}'").fetchone()[0] > 40
    manifest = (tmp_path / "shuffled" / "synth_manifest.json").read_text()
    assert '"order": "shuffled"' in manifest
    with pytest.raises(ValueError, match="order must be one of series, shuffled"):
        synth.synthesize(tmp_path / "bad", series_limit=5, order="random")


def test_every_table_is_the_same_whatever_the_input_order(synthetic_db: Path, tmp_path_factory):
    from idc_qc.build import build
    from idc_qc.synth import synthesize

    root = tmp_path_factory.mktemp("shuffled_build")
    synth = synthesize(root / "synth", series_limit=300, seed=0, order="shuffled")  # synthetic_db's rows
    db = root / "idc_qc.duckdb"
    build(db, str(Path(synth.instances_glob).parent))
    con = duckdb.connect()
    con.execute(f"attach '{synthetic_db}' as ordered (read_only)")
    con.execute(f"attach '{db}' as shuffled (read_only)")

    def tables(alias: str) -> set[str]:
        return {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'main' "
            "and table_type = 'BASE TABLE'", [alias]).fetchall()}

    # the one difference the order makes: a series-ordered input is parsed as it comes (a view),
    # any other is written series by series first (a table); the rows are the same
    parsed = "int_instances__geometry_parsed"
    assert parsed not in tables("ordered") and parsed in tables("shuffled")
    names = tables("ordered")
    assert names == tables("shuffled") - {parsed} and len(names) > 30
    compared = []
    for name in sorted(names - ABOUT_THE_BUILD):
        loose = SUMMED_IN_INPUT_ORDER.get(name, [])
        rows = f"* exclude ({', '.join(loose)})" if loose else "*"
        for x, y in (("ordered", "shuffled"), ("shuffled", "ordered")):
            extra = con.execute(f'select count(*) from (select {rows} from {x}."{name}" '
                                f'except all select {rows} from {y}."{name}")').fetchone()[0]
            assert extra == 0, f"{name}: {extra} rows only in the {x} build"
        for column in loose:
            a, b = f'a."{column}"', f'b."{column}"'
            worst = con.execute(f"select max(abs({a} - {b})) filter (where isfinite({a}) and isfinite({b})), "
                                f"count(*) filter (where coalesce(isfinite({a}), false) <> coalesce(isfinite({b}), false)) "
                                f'from ordered."{name}" a join shuffled."{name}" b using (SeriesInstanceUID)').fetchone()
            assert (worst[0] or 0) < 1e-4 and worst[1] == 0, (name, column, worst)
        compared.append(name)
    assert {"series", "series_geometry", "instance_geometry", "rpt_qc_failures"} <= set(compared)
    # what makes the per-series passes indifferent to the order: the parsed instances are stored
    # series by series (macro series_ordered), one run of rows per series, from shuffled input too
    for x, y in (("ordered", "shuffled"), ("shuffled", "ordered")):
        assert con.execute(f"select count(*) from (from {x}.{parsed} except all from {y}.{parsed})").fetchone()[0] == 0
    con.execute("set threads = 1")  # a scan in storage order
    runs, series = con.execute(
        "select count(*) filter (where s is distinct from p), count(distinct s) from ("
        f"select SeriesInstanceUID as s, lag(SeriesInstanceUID) over () as p from shuffled.{parsed})").fetchone()
    assert runs == series > 250
