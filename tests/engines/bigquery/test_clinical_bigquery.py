"""The clinical models on BigQuery: they read IDC's clinical dataset (idc_v<release>_clinical),
compile and parse as BigQuery SQL, and give the same rows on the bqemulator engine as on
DuckDB over the same clinical tables (a slice of the real TCGA data) and index subset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import support.bigquery as h
from support.data import TCGA_CLINICAL, require_shared

pytestmark = [pytest.mark.bigquery, pytest.mark.slow, pytest.mark.shared_data]

COLLECTIONS = ("tcga_kirc", "tcga_lihc")
PATIENTS_PER_COLLECTION = 25
CLINICAL_MODELS = ["stg_clinical__demographics", "int_clinical__patients_harmonized", "int_patients__imaging_aggregated",
                   "patient_clinical", "rpt_clinical_coverage", "rpt_clinical_coverage_summary",
                   "rpt_bias_distributions", "rpt_bias_census_reference"]
SELECT = ["+patient_clinical+ +rpt_bias_census_reference"]


@pytest.fixture(scope="module")
def clinical_inputs(tmp_path_factory) -> dict[str, Any]:
    """An index subset holding every series of a few patients of two TCGA collections, and
    their clinical rows (plus a few clinical-only patients) registered into a local store."""
    import duckdb
    import pandas as pd

    from idc_qc.clinical import clinical_dbt_vars, register
    from idc_qc.paths import idc_index_dir

    require_shared(TCGA_CLINICAL)
    work = tmp_path_factory.mktemp("bq_clinical")
    index = str(idc_index_dir() / "idc_index.parquet")
    con = duckdb.connect()
    patients = con.execute(
        f"select collection_id, PatientID from (select distinct collection_id, PatientID from read_parquet('{index}') "
        f"where collection_id in {COLLECTIONS}) qualify row_number() over (partition by collection_id order by PatientID) "
        f"<= {PATIENTS_PER_COLLECTION}").fetchall()
    keep = [r[0] for r in con.execute(
        f"select SeriesInstanceUID from read_parquet('{index}') where PatientID in (select unnest(?))",
        [[p for _, p in patients]]).fetchall()]
    sample = h.index_series_sample(4)
    instances = h.write_synthetic_instances(work / "synthetic.parquet", sample)
    index_dir = h.write_index_subset(work / "index", keep + [s["SeriesInstanceUID"] for s in sample], extra_series=10)
    clinical = pd.read_csv(TCGA_CLINICAL, dtype=str, keep_default_na=False)
    wanted = clinical[clinical["acronym"].str.lower().isin([c.removeprefix("tcga_") for c in COLLECTIONS])]
    chosen = wanted[wanted["bcr_patient_barcode"].isin({p for _, p in patients})]
    extra = wanted[~wanted["bcr_patient_barcode"].isin({p for _, p in patients})].head(5)  # clinical only
    csv_path = work / "clinical.csv"
    pd.concat([chosen, extra]).to_csv(csv_path, index=False)
    store = work / "clinical"
    register(csv_path, store, patient_id_column="bcr_patient_barcode", collection_column="acronym",
             collection_prefix="tcga_")
    return {"instances": instances, "index_dir": index_dir, "store": store, "vars": clinical_dbt_vars(store)}


def test_compiles_against_idc_clinical_dataset(clinical_inputs, tmp_path) -> None:
    """With clinical tables listed, the staging model reads bigquery-public-data.idc_v25_clinical
    and every clinical model parses as BigQuery SQL."""
    import sqlglot

    from idc_qc.bigquery import compile_models

    key = h.write_fake_service_account_key(tmp_path / "key.json", "idc-qc-offline")
    env = {"IDC_QC_BQ_KEYFILE": str(key), "IDC_QC_BQ_PROJECT": "idc-qc-offline", "IDC_QC_BQ_METHOD": "service-account"}
    tables = clinical_inputs["vars"]["clinical_tables"]
    project = compile_models(target="bigquery", env=env, work_dir=tmp_path, select=SELECT,
                             vars={"clinical_tables": tables})
    manifest = json.loads(project.manifest_path.read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    staging = nodes["stg_clinical__demographics"]["compiled_code"]
    for table in tables:
        assert f"`bigquery-public-data`.`idc_v25_clinical`.`{table['table_name']}`" in staging
    assert "read_parquet" not in staging
    for name in CLINICAL_MODELS:
        assert sqlglot.parse(nodes[name]["compiled_code"], read="bigquery"), name
    source = next(s for s in manifest["sources"].values() if s["name"] == "table_metadata")
    assert source["relation_name"] == "`bigquery-public-data`.`idc_v25_clinical`.`table_metadata`"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    reason = h.emulator_unavailable_reason()
    if reason:
        if h.in_ci():
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    emu = h.start_emulator(tmp_path_factory.mktemp("bqemulator_clinical"))
    try:
        yield emu
    finally:
        emu.stop()


def _model_relations(manifest_path: Path) -> dict[str, str]:
    manifest = json.loads(manifest_path.read_text())
    return {n["name"]: n["relation_name"] for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n.get("relation_name")}


def test_clinical_models_match_between_engines(clinical_inputs, emulator, tmp_path_factory) -> None:
    from idc_qc.bigquery import load_index_tables, load_parquet
    from idc_qc.dbt_runner import dbt_vars, run_dbt
    from idc_qc.instances import dbt_instances_var

    inputs = clinical_inputs
    absent = h.absent_instance_columns(inputs["instances"])
    # DuckDB: the local store
    duck_dir = tmp_path_factory.mktemp("duckdb_clinical")
    duck_vars = dbt_vars(instances=dbt_instances_var([str(inputs["instances"])]), absent_columns=absent,
                         idc_index_dir=str(inputs["index_dir"]), **inputs["vars"])
    run_dbt("build", db_path=duck_dir / "idc_qc.duckdb", vars=duck_vars, select=SELECT)
    duck = h.Build("duckdb", _model_relations(duck_dir / "dbt" / "target" / "manifest.json"), duck_dir)
    # Emulator: the same clinical tables loaded as IDC's clinical dataset
    client = emulator.client()
    load_index_tables(client, h.INDEX_DATASET, source_dir=inputs["index_dir"])
    h.load_instances(emulator, inputs["instances"])
    dataset = f"{emulator.project}.idc_v{h.IDC_RELEASE}_clinical"
    client.create_dataset(dataset, exists_ok=True)
    for table in inputs["vars"]["clinical_tables"]:
        load_parquet(client, inputs["store"] / f"{table['table_name']}.parquet", f"{dataset}.{table['table_name']}")
    bq_dir = tmp_path_factory.mktemp("bqemu_clinical")
    bq_vars = {**h.emulator_vars(emulator, absent), "clinical_tables": inputs["vars"]["clinical_tables"]}
    run_dbt("build", db_path=bq_dir / "bqemulator.placeholder", target="bqemulator", vars=bq_vars, select=SELECT,
            env=h.emulator_env(emulator, "idc_qc_clinical"), extra_args=["--threads", "4"])
    bq = h.Build("bqemulator", _model_relations(bq_dir / "dbt" / "target" / "manifest.json"), bq_dir)

    failures, report = {}, []
    for model in CLINICAL_MODELS:
        left = h.fetch_duckdb(duck, model)
        right = h.fetch_bigquery(client, bq.relations[model])
        assert left[1], f"{model} is empty on DuckDB: the comparison would prove nothing"
        problems = h.compare_tables(left, right, rel_tol=1e-9, abs_tol=1e-7)
        report.append(f"  {model:<36} duckdb={len(left[1]):>5} bqemulator={len(right[1]):>5} {'OK' if not problems else 'DIFF'}")
        if problems:
            failures[model] = problems
    print("\n" + "\n".join(report))
    assert not failures, "\n".join(f"{m}:\n    " + "\n    ".join(p) for m, p in failures.items())
