"""The same models on DuckDB and on a BigQuery-dialect engine give the same rows.

bqemulator (a separate venv, see docs/bigquery.md) is started on a free loopback port;
dbt-bigquery talks to it through the profile's ``api_endpoint`` (target ``bqemulator``).
Both engines build every model of the manifest over the same inputs:

* ``synthetic``: a small dicom_all-shaped parquet made here (geometry cases, index joins);
* ``real_headers``: ../shared/data/real_headers/instances.parquet (skipped when absent),

with the same deterministic subset of idc-index-data loaded as the index tables. Then
every model is compared row by row (floats within a tolerance, arrays as lists), and
IDC's own volume_geometry_index.sql runs on the emulator as a cross-check.

What the emulator cannot tell us (it is DuckDB underneath) is listed in docs/bigquery.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import support.bigquery as h
from support.data import REAL_HEADERS

pytestmark = [pytest.mark.bigquery, pytest.mark.slow]

#: Float tolerance between engines: both use IEEE doubles, but aggregation order and
#: decimal-string parsing may differ in the last bits.
REL_TOL, ABS_TOL = 1e-9, 1e-7
#: Columns an engine sums in the order it reads the rows: DuckDB's corr() accumulates as the rows
#: come, and the parsed instances reach it in another order on each engine (a view on DuckDB for
#: series-ordered input, a table on BigQuery: int_instances__geometry_parsed). Near-collinear
#: offsets make the last digits move (seen: -0.99906607 against -0.99906640). Compared within
#: 1e-4, as tests/dbt/test_input_order.py does; the verdict that reads them (|trend| >= 0.99) and
#: every other column of every model are compared within REL_TOL and ABS_TOL.
SUMMED_IN_INPUT_ORDER = {"int_series__geometry_aggregated": {"in_plane_row_trend": 1e-4, "in_plane_column_trend": 1e-4}}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    reason = h.emulator_unavailable_reason()
    if reason:
        if h.in_ci():
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    emu = h.start_emulator(tmp_path_factory.mktemp("bqemulator"))
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Instance files per input set and one index subset covering all of their series."""
    import duckdb

    work = tmp_path_factory.mktemp("bq_inputs")
    sample = h.index_series_sample(4)
    synthetic = h.write_synthetic_instances(work / "synthetic.parquet", sample)
    sets = {"synthetic": synthetic}
    if REAL_HEADERS.exists():
        sets["real_headers"] = REAL_HEADERS
    con = duckdb.connect()
    series = set()
    for path in sets.values():
        series |= {r[0] for r in con.execute(f"select distinct SeriesInstanceUID from '{path}'").fetchall()}
    index_dir = h.write_index_subset(work / "index", series)
    return {"sets": sets, "index_dir": index_dir}


@pytest.fixture(scope="module")
def loaded_index(emulator: h.Emulator, inputs: dict[str, Any]) -> list:
    from idc_qc.bigquery import load_index_tables

    return load_index_tables(emulator.client(), h.INDEX_DATASET, source_dir=inputs["index_dir"])


#: Every model is built once per engine and input set, then all of them are compared in one
#: test. Under ``./dev test`` (xdist) each input set runs on its own worker with its own
#: emulator (tests/conftest.py, SPLIT_BY_PARAM); in one process, one emulator serves both.
INPUT_SETS = ["synthetic", "real_headers"]


@pytest.fixture(scope="module", params=INPUT_SETS)
def builds(request: pytest.FixtureRequest, emulator: h.Emulator, inputs: dict[str, Any], loaded_index: list,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    name = request.param
    if name not in inputs["sets"]:
        pytest.skip(f"{REAL_HEADERS} is absent (shared test data not beside the checkout)")
    instances = inputs["sets"][name]
    absent = h.absent_instance_columns(instances)
    duck = h.build_duckdb(tmp_path_factory.mktemp(f"duckdb_{name}"), instances, inputs["index_dir"], absent)
    loaded_rows = h.load_instances(emulator, instances)
    bq = h.build_emulator(emulator, tmp_path_factory.mktemp(f"bqemu_{name}"), f"idc_qc_{name}", absent)
    return {"name": name, "duckdb": duck, "bqemulator": bq, "instances": instances, "rows": loaded_rows}


def test_index_tables_load_from_parquet(loaded_index: list, inputs: dict[str, Any]) -> None:
    """load_index_tables() puts every idc-index-data table in place with all its rows."""
    import pyarrow.parquet as pq

    for table in loaded_index:
        assert table.rows == pq.read_metadata(table.source).num_rows, table.table_id
    print("\nloaded index tables: " + ", ".join(f"{t.table_id.split('.')[-1]}={t.rows}" for t in loaded_index))


def test_every_model_matches_between_engines(builds: dict[str, Any], emulator: h.Emulator) -> None:
    duck, bq = builds["duckdb"], builds["bqemulator"]
    assert set(duck.relations) == set(bq.relations), "both engines build the same models"
    client = emulator.client()
    report, failures = [], {}
    for model in sorted(duck.relations):
        left = h.fetch_duckdb(duck, model)
        right = h.fetch_bigquery(client, bq.relations[model])
        problems = h.compare_tables(left, right, rel_tol=REL_TOL, abs_tol=ABS_TOL, loose=SUMMED_IN_INPUT_ORDER.get(model))
        report.append(f"  {model:<40} duckdb={len(left[1]):>6} bqemulator={len(right[1]):>6} {'OK' if not problems else 'DIFF'}")
        if problems:
            failures[model] = problems
    print(f"\n[{builds['name']}] {builds['rows']} instances; models compared:\n" + "\n".join(report))
    assert not failures, "\n".join(f"{m}:\n    " + "\n    ".join(p) for m, p in failures.items())


def test_marts_are_not_empty(builds: dict[str, Any]) -> None:
    """A comparison of two empty tables proves nothing: the marts must hold rows."""
    reporting = {m for m in builds["duckdb"].relations if m.startswith("rpt_")}
    assert reporting >= {"rpt_geometry_category_counts", "rpt_geometry_reason_counts", "rpt_geometry_failure_sets",
                         "rpt_geometry_failures"}, "the reporting models are built on both engines"
    # These inputs carry no clinical data: the clinical coverage models are empty here and are
    # compared with rows in tests/engines/bigquery/test_clinical_bigquery.py.
    reporting -= {"rpt_clinical_coverage", "rpt_clinical_coverage_summary"}
    for model in builds["duckdb"].relations:
        if model in {"series", "series_geometry", "instance_geometry"} | reporting:
            _, rows = h.fetch_duckdb(builds["duckdb"], model)
            assert rows, f"{model} is empty on DuckDB for {builds['name']}"


# --------------------------------------------------------------------------------------
# IDC's own BigQuery SQL as a cross-check of the geometry columns
# --------------------------------------------------------------------------------------

#: Columns of IDC's volume_geometry_index that series_geometry is expected to reproduce
#: under the same names (those present in both are compared).
IDC_GEOMETRY_COLUMNS = [
    "single_orientation", "orthogonal_orientation", "unique_slice_positions",
    "consistent_in_plane_row", "consistent_in_plane_col", "consistent_pixel_spacing",
    "consistent_image_dimensions", "uniform_slice_spacing", "regularly_spaced_3d_volume",
    "obliquity_degrees", "slice_spacing_mm", "origin_patient",
]


def idc_volume_geometry_sql(project: str) -> str:
    import idc_index_data

    sql = (Path(idc_index_data.__file__).parent / "volume_geometry_index.sql").read_text()
    source = f"bigquery-public-data.idc_v{h.IDC_RELEASE}.dicom_all"
    assert source in sql, "volume_geometry_index.sql no longer reads the pinned dicom_all"
    return sql.replace(source, f"{project}.idc_v{h.IDC_RELEASE}.dicom_all")


def test_idc_volume_geometry_sql_cross_check(builds: dict[str, Any], emulator: h.Emulator) -> None:
    client = emulator.client()
    result = client.query(idc_volume_geometry_sql(emulator.project)).result()
    columns = [f.name for f in result.schema]
    idc_rows = {row["SeriesInstanceUID"]: dict(row.items()) for row in result}
    print(f"\n[{builds['name']}] IDC volume_geometry_index.sql on bqemulator: {len(idc_rows)} series")
    assert "regularly_spaced_3d_volume" in columns and idc_rows

    if "series_geometry" not in builds["bqemulator"].relations:
        pytest.skip("series_geometry is not in the manifest yet; IDC's SQL ran, nothing to compare it with")
    cols, rows = h.fetch_bigquery(client, builds["bqemulator"].relations["series_geometry"])
    mine = {r[cols.index("SeriesInstanceUID")]: dict(zip(cols, r)) for r in rows}
    shared = [c for c in IDC_GEOMETRY_COLUMNS if c in cols and c in columns]
    assert shared, f"series_geometry shares none of IDC's geometry columns {IDC_GEOMETRY_COLUMNS}"
    differences = []
    for uid, idc in sorted(idc_rows.items()):
        if uid not in mine:
            differences.append(f"{uid}: in IDC's volume_geometry_index, not in series_geometry")
            continue
        for c in shared:
            if not h.values_equal(h._normalize(idc[c]), h._normalize(mine[uid][c]), 1e-6, 1e-6):
                differences.append(f"{uid}: {c}: IDC {idc[c]!r} vs series_geometry {mine[uid][c]!r}")
    print(f"  compared {len(idc_rows)} series on {shared}")
    assert not differences, "\n".join(differences[:20])


# --------------------------------------------------------------------------------------
# dry_run() against the emulator
# --------------------------------------------------------------------------------------


def inlining_cover(manifest_path: Path) -> tuple[list[str], set[str]]:
    """Few, small models whose dry-run statements together inline every model and seed that any
    statement inlines (greedy: most nodes not yet covered per byte of statement), and those nodes."""
    from idc_qc.bigquery import inline_upstream, read_compiled_manifest

    project = read_compiled_manifest(manifest_path)
    statements = {m.name: inline_upstream(m, project) for m in project.models.values()}
    ever_inlined = set().union(*(set(inlined) for _, inlined in statements.values()))
    uncovered, cover = set(ever_inlined), []
    while uncovered:
        name = max(statements, key=lambda n: len(uncovered & set(statements[n][1])) / len(statements[n][0]))
        cover.append(name)
        uncovered -= set(statements[name][1])
    return cover, ever_inlined


def test_dry_run_code_path(builds: dict[str, Any], emulator: h.Emulator, tmp_path: Path) -> None:
    """dry_run() compiles, inlines upstream models and seeds, submits dry-run jobs.

    The emulator runs what it dry-runs (BigQuery does not), so sending all 40 statements took
    six minutes: the test dry-runs, through ``select``, a few models whose statements together
    inline every model and seed that is ever inlined (each model's own SQL ran on the emulator
    in the build above; every inlined statement is parsed, and checked to read only sources, in
    test_compile.py). The selection's upstream is not built, so this is also what
    ``idc-qc build --target bigquery --dry-run --select`` does.

    bqemulator accepts dry-run jobs and validates them by running the statement, but it
    has no cost model: totalBytesProcessed is always 0. The byte counts are therefore
    only checked to be integers here; that they are BigQuery's real estimate is verified
    only against BigQuery itself (docs/bigquery.md).
    """
    if builds["name"] != "synthetic":
        pytest.skip("the dry-run code path is exercised once, on the synthetic inputs")
    from idc_qc.bigquery import dry_run, read_compiled_manifest

    manifest_path = builds["bqemulator"].work_dir / "dbt" / "target" / "manifest.json"
    cover, ever_inlined = inlining_cover(manifest_path)
    absent = h.absent_instance_columns(builds["instances"])
    report = dry_run(
        emulator.client(),
        target="bqemulator",
        vars=h.emulator_vars(emulator, absent),
        env=h.emulator_env(emulator, "idc_qc_dry_run_never_created"),
        select=cover,
        work_dir=tmp_path,
        maximum_bytes_billed=10**9,
    )
    assert sorted(r.name for r in report.results) == sorted(cover), "exactly the selected models are dry-run"
    assert not report.failed, "\n".join(f"{r.name}: {r.error}" for r in report.failed)
    project = read_compiled_manifest(manifest_path)
    inlined = {uid for r in report.results for uid in r.inlined}
    assert inlined == ever_inlined and len(inlined) > len(cover), f"not inlined: {sorted(ever_inlined - inlined)}"
    for r in report.results:
        assert isinstance(r.bytes_processed, int) and r.bytes_processed >= 0
        assert r.schema, f"{r.name}: the dry run returned no schema"
    # Nothing was created: the dry run inlined every upstream model instead of reading it.
    datasets = {d.dataset_id for d in emulator.client().list_datasets()}
    assert "idc_qc_dry_run_never_created" not in datasets
    print(f"\n  {len(cover)} of {len(project.models)} models dry-run, inlining {len(inlined)} models and seeds:\n"
          + "\n".join(f"  dry-run {r.name:<40} {r.materialized:<6} bytes={r.bytes_processed} inlined={len(r.inlined)}"
                       for r in report.results))


def test_dry_run_without_inlining_reports_missing_upstream(builds: dict[str, Any], emulator: h.Emulator, tmp_path: Path) -> None:
    """With inline=False a model whose inputs are not built reports an error, not a crash."""
    if builds["name"] != "synthetic":
        pytest.skip("exercised once, on the synthetic inputs")
    from idc_qc.bigquery import dry_run

    report = dry_run(
        emulator.client(),
        target="bqemulator",
        vars=h.emulator_vars(emulator, h.absent_instance_columns(builds["instances"])),
        env=h.emulator_env(emulator, "idc_qc_dry_run_never_created"),
        select=["stg_dicom__instances", "series"],  # one of each kind: each dry run is a job on the emulator
        work_dir=tmp_path,
        inline=False,
    )
    by_name = {r.name: r for r in report.results}
    assert sorted(by_name) == ["series", "stg_dicom__instances"]
    assert by_name["stg_dicom__instances"].ok, "a model reading only sources dry-runs as compiled"
    assert not by_name["series"].ok and by_name["series"].bytes_processed is None
