"""`idc-qc query` is read-only and contained: a list of hostile statements and what each gets.

The warehouse is a real DuckDB file shaped like a build (a build record, a table, staging
views reading parquet in place, an index folder), made here without dbt so the list runs in
the fast lane. Each statement must be

- ``refused``: by the allow-list, before the database is even opened (NotReadOnly), or
- ``denied``: by the contained connection (external access off, configuration locked), or
- ``error``: another one-line error (e.g. a table function that does not exist),

and afterwards the database file is byte for byte the same, no file was written, and the
secret beside it was never read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from idc_qc.errors import IdcQcError
from idc_qc.query.run import run_query
from idc_qc.query.transpile import NotReadOnly
from support.query import make_warehouse

SECRET_TEXT = "password-that-must-not-leak"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    db = make_warehouse(root)
    secret = root / "secret.csv"
    secret.write_text(f"secret\n{SECRET_TEXT}\n")
    return {"db": db, "root": root, "secret": secret}


def hostile_statements(root: Path, secret: Path) -> list[tuple[str, str, str]]:
    """(dialect, statement, expected outcome)."""
    out = root / "written"
    duck = [
        ("create table stolen as select 1", "refused"),
        ("create temp table t as select 1", "refused"),
        ("create view v as select 1", "refused"),
        ("create macro m() as 1", "refused"),
        ("create secret s (type s3, key_id 'k', secret 'v')", "refused"),
        ("insert into series values ('9.9', 'MR')", "refused"),
        ("update series set Modality = 'XX'", "refused"),
        ("delete from series", "refused"),
        ("drop table series", "refused"),
        ("alter table series add column x integer", "refused"),
        (f"attach '{out}.duckdb' as other", "refused"),
        ("detach database if exists other", "refused"),
        (f"copy series to '{out}.csv'", "refused"),
        (f"copy series from '{secret}'", "refused"),
        (f"export database '{out}'", "refused"),
        (f"import database '{root}'", "refused"),
        ("install httpfs", "refused"),
        ("load httpfs", "refused"),
        ("set enable_external_access = true", "refused"),
        ("reset lock_configuration", "refused"),
        ("pragma enable_profiling", "refused"),
        ("call pragma_version()", "refused"),
        ("checkpoint", "refused"),
        ("use memory", "refused"),
        ("begin transaction", "refused"),
        ("prepare p as delete from series", "refused"),
        (f"explain analyze copy series to '{out}.csv'", "refused"),
        ("select 1; drop table series", "refused"),
        ("/* looks harmless */ select 1; -- then\n insert into series values ('9', 'X')", "refused"),
        ("pivot series on Modality", "refused"),
        (f"select * from read_csv('{secret}')", "denied"),
        ("select * from read_text('/etc/passwd')", "denied"),
        (f"select * from read_blob('{secret}')", "denied"),
        (f"select * from read_json('{secret}')", "denied"),
        (f"select * from sniff_csv('{secret}')", "denied"),
        (f"select * from glob('{root}/*')", "denied"),
        ("select * from read_parquet('https://example.com/x.parquet')", "denied"),
        ("select * from duckdb_secrets()", "denied"),
        (f"select * from '{secret}'", "denied"),
        ("select * from query('drop table series')", "error"),
        (f"select * from sqlite_scan('{root}/x.db', 't')", "error"),
    ]
    bigquery = [
        ("CREATE TEMP TABLE t AS SELECT 1", "refused"),
        ("INSERT INTO `bigquery-public-data.idc_current.dicom_all` (SOPInstanceUID) VALUES ('x')", "refused"),
        ("EXPORT DATA OPTIONS(uri='gs://bucket/x-*.csv', format='CSV') AS SELECT 1", "refused"),
        ("EXECUTE IMMEDIATE 'DROP TABLE series'", "refused"),
        ("MERGE series t USING series s ON t.SeriesInstanceUID = s.SeriesInstanceUID "
         "WHEN MATCHED THEN DELETE", "refused"),
        ("CALL mydataset.proc()", "refused"),
        ("SET @@dataset_project_id = 'other'; SELECT 1", "refused"),
        ("DECLARE n INT64 DEFAULT 1; DELETE FROM series WHERE n = 1", "refused"),
        ("SELECT * FROM `bigquery-public-data.idc_current.auxiliary_metadata`", "error"),
        ("SELECT * FROM EXTERNAL_QUERY('conn', 'SELECT 1')", "error"),
    ]
    return [("duckdb", s, o) for s, o in duck] + [("bigquery", s, o) for s, o in bigquery]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outcome(db: Path, dialect: str, statement: str) -> tuple[str, str]:
    try:
        result = run_query(db, statement, dialect=dialect)
    except NotReadOnly as exc:
        return "refused", str(exc)
    except IdcQcError as exc:
        text = str(exc)
        return ("denied" if "Permission Error" in text or "refused by the contained" in text else "error"), text
    return "ran", f"{result.rows} rows: {result.table.to_pylist()[:2]}"


def test_hostile_statements(warehouse):
    db, root, secret = warehouse["db"], warehouse["root"], warehouse["secret"]
    before = _digest(db)
    files_before = sorted(p for p in root.rglob("*"))
    outcomes = []
    print("\nhostile statement -> outcome")
    for dialect, statement, expected in hostile_statements(root, secret):
        got, message = _outcome(db, dialect, statement)
        shown = statement.replace(str(root), "<tmp>").replace("\n", " ")
        print(f"  [{dialect}] {shown}\n      -> {got}: {message.replace(str(root), '<tmp>')[:150]}")
        outcomes.append((dialect, statement, expected, got, message))
    wrong = [(d, s, e, g, m) for d, s, e, g, m in outcomes if e != g]
    assert wrong == []
    for *_, message in outcomes:
        assert "\n" not in message and SECRET_TEXT not in message
    assert _digest(db) == before
    assert sorted(p for p in root.rglob("*")) == files_before
    assert run_query(db, "select count(*) from series").table.to_pylist() == [{"count_star()": 1}]


def test_refusal_comes_before_the_database_is_opened(tmp_path):
    """No database at all: the statement is refused first (nothing is opened to refuse it)."""
    with pytest.raises(NotReadOnly, match="COPY"):
        run_query(tmp_path / "absent.duckdb", f"copy (select 1) to '{tmp_path / 'x.csv'}'")
    with pytest.raises(NotReadOnly, match="EXPORT"):
        run_query(tmp_path / "absent.duckdb", "EXPORT DATA OPTIONS(uri='gs://b/*') AS SELECT 1", dialect="bigquery")


def test_the_views_still_read_their_parquet(warehouse):
    """External access is off, yet the warehouse's own views (and IDC's names) read their files."""
    db = warehouse["db"]
    assert run_query(db, "select count(*) as n from stg_dicom__instances").table.to_pylist() == [{"n": 2}]
    assert run_query(db, "SELECT COUNT(*) AS n FROM `bigquery-public-data.idc_v25.dicom_all`",
                     dialect="bigquery").table.to_pylist() == [{"n": 2}]
    assert run_query(db, "select collection_id from idc_index").table.to_pylist() == [{"collection_id": "demo"}]


def test_configuration_is_locked_after_opening(warehouse):
    """Even a statement that got past the allow-list could not switch external access back on."""
    from idc_qc.query.run import contained

    with contained(warehouse["db"]) as (con, _catalog, _warnings):
        settings = dict(con.execute(
            "select name, value from duckdb_settings() where name in ('enable_external_access', 'lock_configuration')"
        ).fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true"}
        import duckdb

        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("create table t as select 1")  # read-only connection


# --where of upset, bias and cohort: one condition, checked by DuckDB's parser (check_condition)
@pytest.mark.parametrize("condition", [
    "Modality = 'CT'",
    # SQL words inside strings and names are no statement (a word list refused these)
    "SeriesDescription ilike '%update%' or BodyPartExamined = 'DELETE ME'",
    "collection_id in (select collection_id from collections_index) -- a trailing comment",
])
def test_a_condition_passes_as_written(condition):
    from idc_qc.query.safety import check_condition

    assert check_condition(condition, columns_of="idc_index", example="\"Modality = 'CT'\"") == condition


@pytest.mark.parametrize("condition, why", [
    ("1=1; drop table series", "not an SQL condition"),
    ("Modality = ", "not an SQL condition"),
    ("   ", "empty"),
    ("1=1) ; attach 'other.duckdb' as other; select (1", "parentheses do not balance"),
])
def test_anything_but_one_condition_is_refused_in_one_line(condition, why):
    from idc_qc.query.safety import NotACondition, check_condition

    with pytest.raises(NotACondition) as refused:
        check_condition(condition, columns_of="idc_index", example="\"Modality = 'CT'\"")
    message = str(refused.value)
    assert why in message and "\n" not in message
    assert message.startswith(f"--where {condition!r}") and "columns of idc_index" in message
    assert isinstance(refused.value, IdcQcError)  # the CLI prints it as one Error: line
