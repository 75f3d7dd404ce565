"""analyses/ compile for DuckDB and run on a real build; Figure 5's counts equal what
`idc-qc upset` plots (both aggregate rpt_geometry_failure_sets, one in dbt, one in Python's SQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.data import REPO, query

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def compiled_analyses(real_headers_db) -> dict[str, str]:
    from idc_qc.dbt_runner import dbt_vars, run_dbt

    work = real_headers_db.parent / "analyses_compile"
    db = work / "compile.duckdb"
    work.mkdir(exist_ok=True)
    # compile against a copy: dbt may open the database, the fixture's stays untouched
    import shutil

    shutil.copy(real_headers_db, db)
    run_dbt("compile", db_path=db, vars=dbt_vars(instances="unused.parquet"), select=["resource_type:analysis"])
    folder = work / "dbt" / "target" / "compiled" / "idc_qc" / "analyses"
    return {p.stem: p.read_text() for p in folder.glob("*.sql")} | {"_db": str(db)}


def test_every_analysis_runs_on_duckdb(compiled_analyses):
    db = Path(compiled_analyses["_db"])
    names = sorted(p.stem for p in (REPO / "analyses").glob("*.sql"))
    assert names and all(n in compiled_analyses for n in names)
    for name in names:
        query(db, compiled_analyses[name])  # raises on an error


def test_series_per_patient_adds_up(compiled_analyses):
    db = Path(compiled_analyses["_db"])
    rows = query(db, f"select sum(series_count * patients) from ({compiled_analyses['series_per_patient']})")
    assert rows[0][0] == query(db, "select count(*) from series where PatientID is not null")[0][0]


def test_figure5_counts_match_upset(compiled_analyses, tmp_path):
    """On the real headers there is no NLST: the analysis' filter is swapped for the whole build."""
    from idc_qc.reports.upset import render_upset

    db = Path(compiled_analyses["_db"])
    sql = compiled_analyses["figure5_nlst_ct_failure_combinations"]
    sql = sql.replace("collection_id = 'nlst'", "true").replace("Modality = 'CT'", "true")
    analysis = sorted(r[8] for r in query(db, sql))
    plotted = sorted(i.series for i in render_upset(db, tmp_path, sets="checks").intersections)
    assert analysis == plotted and sum(plotted) > 0
