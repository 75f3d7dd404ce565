"""Every model (and data test) compiles for the `bigquery` target with no account, parses
as BigQuery SQL and carries no DuckDB-only syntax.

`dbt compile --no-populate-cache` with a fake service-account key sends no request to
Google (without the flag dbt lists the target datasets first and hangs offline).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.bigquery import DUCKDB_ONLY_SYNTAX, REPO, strip_comments_and_strings, write_fake_service_account_key

pytestmark = [pytest.mark.bigquery, pytest.mark.slow]

FAKE_PROJECT = "idc-qc-offline"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from idc_qc.bigquery import compile_models

    work = tmp_path_factory.mktemp("bq_compile")
    key = write_fake_service_account_key(work / "fake-key.json", FAKE_PROJECT)
    env = {"IDC_QC_BQ_KEYFILE": str(key), "IDC_QC_BQ_PROJECT": FAKE_PROJECT, "IDC_QC_BQ_METHOD": "service-account"}
    project = compile_models(target="bigquery", env=env, work_dir=work)
    manifest = json.loads(project.manifest_path.read_text())
    nodes = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in {"model", "test"} and n.get("package_name") == "idc_qc" and n.get("compiled_code")
    }
    return {"project": project, "nodes": nodes, "manifest": manifest}


def _model_files() -> list[str]:
    return sorted(p.stem for p in (REPO / "models").rglob("*.sql"))


def test_every_model_file_was_compiled(compiled: dict) -> None:
    names = {n["name"] for n in compiled["nodes"].values() if n["resource_type"] == "model"}
    missing = [m for m in _model_files() if m not in names]
    assert not missing, f"models not compiled for bigquery: {missing}"
    print(f"\ncompiled for bigquery: {len(names)} models, "
          f"{sum(1 for n in compiled['nodes'].values() if n['resource_type'] == 'test')} data tests")


def test_sources_point_at_idc_public_datasets(compiled: dict) -> None:
    sources = compiled["manifest"]["sources"]
    dicom = next(s for s in sources.values() if s["name"] == "dicom_all")
    assert dicom["relation_name"] == "`bigquery-public-data`.`idc_v25`.`dicom_all`"
    index = next(s for s in sources.values() if s["name"] == "idc_index")
    assert index["relation_name"] == f"`{FAKE_PROJECT}`.`idc_qc_index`.`idc_index`"


def _compiled_ids() -> list[str]:
    """Parametrize over model/test files known at collection time (names, not SQL)."""
    return _model_files()


@pytest.mark.parametrize("model", _compiled_ids())
def test_model_parses_as_bigquery(compiled: dict, model: str) -> None:
    import sqlglot
    from sqlglot.errors import ErrorLevel

    node = next((n for n in compiled["nodes"].values() if n["resource_type"] == "model" and n["name"] == model), None)
    assert node is not None, f"{model} was not compiled"
    statements = sqlglot.parse(node["compiled_code"], read="bigquery", error_level=ErrorLevel.RAISE)
    assert [s for s in statements if s is not None], f"{model}: no statement parsed"


@pytest.mark.parametrize("check,pattern,why", DUCKDB_ONLY_SYNTAX, ids=[c[0] for c in DUCKDB_ONLY_SYNTAX])
def test_no_duckdb_only_syntax(compiled: dict, check: str, pattern: str, why: str) -> None:
    import re

    offenders = []
    for node in compiled["nodes"].values():
        code = strip_comments_and_strings(node["compiled_code"])
        match = re.search(pattern, code, flags=re.I)
        if match:
            start = max(match.start() - 60, 0)
            offenders.append(f"{node['unique_id']}: ...{code[start:match.end() + 40]!r}...")
    assert not offenders, f"{why}:\n" + "\n".join(offenders)


def test_data_tests_parse_as_bigquery(compiled: dict) -> None:
    import sqlglot
    from sqlglot.errors import ErrorLevel

    failures = []
    for node in compiled["nodes"].values():
        if node["resource_type"] != "test":
            continue
        try:
            sqlglot.parse(node["compiled_code"], read="bigquery", error_level=ErrorLevel.RAISE)
        except sqlglot.errors.ParseError as exc:
            failures.append(f"{node['unique_id']}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_inlined_dry_run_statements_parse(compiled: dict) -> None:
    """What dry_run() sends (upstream models and seeds inlined) is valid BigQuery too."""
    import sqlglot
    from sqlglot.errors import ErrorLevel

    from idc_qc.bigquery import inline_upstream

    project = compiled["project"]
    relations = {uid: node.relation_name for uid, node in [*project.models.items(), *project.seeds.items()]}
    for model in project.models.values():
        sql, inlined = inline_upstream(model, project)
        sqlglot.parse(sql, read="bigquery", error_level=ErrorLevel.RAISE)
        # after inlining only sources remain as table references: no model or seed is read
        # (test_equivalence.py runs a few of these statements on the emulator)
        left = [uid for uid, relation in relations.items() if relation and relation in sql]
        assert not left, f"{model.name}: still reads {left}"


def test_profile_template_documents_cost_guard() -> None:
    text = (REPO / "profiles.yml").read_text()
    for key in ("maximum_bytes_billed", "location", "project", "dataset", "api_endpoint"):
        assert key in text
    assert (REPO / "docs" / "bigquery.md").exists()


def test_fake_key_is_a_valid_service_account_file(tmp_path: Path) -> None:
    from google.oauth2 import service_account

    key = write_fake_service_account_key(tmp_path / "k.json")
    creds = service_account.Credentials.from_service_account_file(str(key))
    assert creds.service_account_email.endswith(".iam.gserviceaccount.com")


@pytest.mark.parametrize(
    "sql,check",
    [
        ("select x::int from t", "double_colon_cast"),
        ("select list_filter(a, x -> x > 1) from t", "arrow_lambda"),
        ("select len(list_filter(a, lambda x: x > 1)) from t", "lambda_keyword"),
        ("select list_transform(a, lambda x: x) from t", "list_function"),
        ("select len(a) from t", "len_function"),
        ("select * from read_parquet('a.parquet')", "read_parquet"),
        ("select try_cast(a as double) from t", "try_cast"),
        ("select regexp_matches(a, 'x') from t", "regexp_matches"),
        ("select cast(a as varchar[]) from t", "varchar_type"),
        ("select cast(a as varchar[]) from t", "array_type_suffix"),
    ],
)
def test_duckdb_only_checks_catch_duckdb_sql(sql: str, check: str) -> None:
    """The checks themselves: each catches the DuckDB construct it is named after."""
    import re

    pattern = dict((c, p) for c, p, _ in DUCKDB_ONLY_SYNTAX)[check]
    assert re.search(pattern, strip_comments_and_strings(sql), flags=re.I)
    # and ignores it inside comments and string literals
    assert not re.search(pattern, strip_comments_and_strings(f"-- {sql}\nselect '{sql.replace(chr(39), '')}'"), flags=re.I)


def test_analyses_compile_and_parse_as_bigquery(compiled: dict) -> None:
    """analyses/ (the paper's and IDC's tutorial questions) compile for BigQuery and parse."""
    import sqlglot
    from sqlglot.errors import ErrorLevel

    analyses = {n["name"]: n for n in compiled["manifest"]["nodes"].values()
                if n["resource_type"] == "analysis" and n.get("package_name") == "idc_qc"}
    expected = sorted(p.stem for p in (REPO / "analyses").glob("*.sql"))
    assert expected and sorted(analyses) == expected
    for name, node in analyses.items():
        code = node.get("compiled_code")
        assert code, f"analysis {name} was not compiled"
        sqlglot.parse(code, read="bigquery", error_level=ErrorLevel.RAISE)
        assert "`bigquery-public-data`" in code or "`idc-qc-offline`" in code, f"{name} reads no BigQuery relation"
        stripped = strip_comments_and_strings(code)
        for _check, pattern, why in DUCKDB_ONLY_SYNTAX:
            assert not re.search(pattern, stripped, flags=re.I), f"analysis {name}: {why}"


def test_frames_come_off_dicom_all_when_the_var_frames_is_given(tmp_path: Path) -> None:
    """BigQuery has no frames table: with the var `frames` given, stg_dicom__frames unnests
    dicom_all's PerFrameFunctionalGroupsSequence (a frame's own group, else the shared one) and
    int_instances__slices joins the frames in; both still parse as BigQuery. Without the var
    (the compile above) neither reads a frame."""
    import sqlglot
    from sqlglot.errors import ErrorLevel

    from idc_qc.bigquery import compile_models

    key = write_fake_service_account_key(tmp_path / "fake-key.json", FAKE_PROJECT)
    env = {"IDC_QC_BQ_KEYFILE": str(key), "IDC_QC_BQ_PROJECT": FAKE_PROJECT, "IDC_QC_BQ_METHOD": "service-account"}
    project = compile_models(target="bigquery", env=env, work_dir=tmp_path, vars={"frames": "dicom_all"},
                             select=["stg_dicom__frames", "int_instances__slices"])
    manifest = json.loads(project.manifest_path.read_text())
    code = {n["name"]: n["compiled_code"] for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n.get("compiled_code")}
    frames, slices = code["stg_dicom__frames"], code["int_instances__slices"]
    for sql in (frames, slices):
        assert [s for s in sqlglot.parse(sql, read="bigquery", error_level=ErrorLevel.RAISE) if s is not None]
    assert "unnest(instances.PerFrameFunctionalGroupsSequence) as frame with offset" in frames
    assert "`bigquery-public-data`.`idc_v25`.`dicom_all`" in frames
    assert "SharedFunctionalGroupsSequence[safe_offset(0)].PlanePositionSequence" in frames
    assert "inner join frames" in slices and "replace (" in slices
