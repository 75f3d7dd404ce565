"""dbt's unit tests (``unit_tests:`` in models/**.yml) pin the SQL's logic on fixed rows. Builds
leave them out (dbt_runner.EXCLUDED_FROM_BUILDS: the same answer on every user's data); here they
run, every one of them, on a real build (dbt reads the columns of each tested model's parents
from the database)."""

from __future__ import annotations

import json
import shutil

import pytest

from idc_qc.database.files import dbt_work_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def unit_run(synthetic_db, tmp_path_factory):
    from idc_qc.dbt_runner import dbt_vars, run_dbt

    db = tmp_path_factory.mktemp("unit_tests") / "idc_qc.duckdb"
    shutil.copyfile(synthetic_db, db)  # dbt writes nothing for a unit test; a copy keeps the fixture's untouched
    run = run_dbt("test", db_path=db, vars=dbt_vars(instances="unused.parquet"), select=["test_type:unit"],
                  raise_on_failure=False, work_dir=db.parent / "dbt")
    return run, json.loads((db.parent / "dbt" / "target" / "manifest.json").read_text())


def test_every_unit_test_runs_and_passes(unit_run):
    unit_run, manifest = unit_run
    declared = {test["unique_id"] for test in manifest["unit_tests"].values() if test["package_name"] == "idc_qc"}
    ran = {node.unique_id: node for node in unit_run.nodes}
    assert len(declared) >= 8
    assert set(ran) == declared  # none left out, nothing else run
    failed = {uid: (node.status, node.message) for uid, node in ran.items() if node.status != "pass"}
    assert not failed, failed
    assert unit_run.success


def test_a_build_runs_no_unit_test_but_its_data_tests(synthetic_db):
    results = json.loads((dbt_work_dir(synthetic_db) / "target" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert "unit_test" not in kinds
    assert {"model", "test", "seed"} <= kinds
