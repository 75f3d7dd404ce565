"""BigQuery SQL -> DuckDB: each pitfall sqlglot leaves, run on data (table-driven, as sqlglot's own tests).

The expected rows are BigQuery's answers, worked out by hand from BigQuery's documented
semantics (0-based OFFSET, NULLs first in ascending order, SAFE_* returning NULL).
"""

from __future__ import annotations

import duckdb
import pytest

from idc_qc.query.transpile import NotReadOnly, QuerySyntaxError, UnknownTable, transpile

CASES = [
    ("WITH OFFSET counts from 0",
     "SELECT part, index FROM UNNEST(['a','b','c']) part WITH OFFSET index WHERE index BETWEEN 0 AND 1 ORDER BY index",
     [("a", 0), ("b", 1)]),
    ("the offset read by an outer query stays 0-based",
     "SELECT MAX(pos) AS m FROM (SELECT pos FROM UNNEST([10, 20, 30]) x WITH OFFSET pos)",
     [(2,)]),
    ("comma join with a correlated UNNEST ... WITH OFFSET",
     "SELECT t.id, x, pos FROM (SELECT 1 AS id, [5, 6] AS arr) t, UNNEST(t.arr) AS x WITH OFFSET AS pos ORDER BY pos",
     [(1, 5, 0), (1, 6, 1)]),
    ("WITH OFFSET without a name is `offset`",
     "SELECT x, offset FROM UNNEST(['p', 'q']) x WITH OFFSET ORDER BY offset",
     [("p", 0), ("q", 1)]),
    ("ARRAY_AGG(... ORDER BY key LIMIT 1)[OFFSET(0)]: NULL keys first, as BigQuery sorts",
     "SELECT ARRAY_AGG(a ORDER BY b LIMIT 1)[OFFSET(0)] AS first "
     "FROM (SELECT 1 AS a, 2 AS b UNION ALL SELECT 9, NULL UNION ALL SELECT 3, 3)",
     [(9,)]),
    ("ARRAY_AGG(... DESC LIMIT 2): NULL keys last descending",
     "SELECT ARRAY_AGG(a ORDER BY b DESC LIMIT 2) AS top "
     "FROM (SELECT 1 AS a, 2 AS b UNION ALL SELECT 9, NULL UNION ALL SELECT 3, 3)",
     [([3, 1],)]),
    ("ARRAY_AGG(DISTINCT ... IGNORE NULLS ... LIMIT n)",
     "SELECT ARRAY_AGG(DISTINCT a IGNORE NULLS ORDER BY a LIMIT 2) AS v "
     "FROM (SELECT 4 AS a UNION ALL SELECT NULL UNION ALL SELECT 2 UNION ALL SELECT 4 UNION ALL SELECT 7)",
     [([2, 4],)]),
    ("DECLARE ... DEFAULT and SET",
     "DECLARE t FLOAT64 DEFAULT 0.5; SET t = 2; SELECT t * 3 AS v",
     [(6,)]),
    ("DECLARE without DEFAULT is NULL",
     "DECLARE x INT64; SELECT x IS NULL AS unset",
     [(True,)]),
    ("[SAFE_OFFSET(n)], [OFFSET(n)], [ORDINAL(n)]",
     "SELECT [1, 2][SAFE_OFFSET(5)] AS v, [1, 2][OFFSET(1)] AS w, [1, 2][ORDINAL(1)] AS o",
     [(None, 2, 1)]),
    ("SAFE_CAST",
     "SELECT SAFE_CAST('x' AS FLOAT64) AS a, SAFE_CAST('1.5' AS FLOAT64) AS b, SAFE_CAST('7' AS INT64) AS c",
     [(None, 1.5, 7)]),
    ("backticks and # comments",
     "SELECT `Rows` # the rows\nFROM (SELECT 3 AS `Rows`) -- and this\n",
     [(3,)]),
    ("SELECT * EXCEPT",
     "SELECT * EXCEPT (b) FROM (SELECT 1 AS a, 2 AS b)",
     [(1,)]),
]


@pytest.mark.parametrize(("what", "bigquery", "expected"), CASES, ids=[c[0] for c in CASES])
def test_transpiled_query_gives_bigquerys_answer(what, bigquery, expected):
    sql = transpile(bigquery).sql
    assert duckdb.sql(sql).fetchall() == expected, sql


def test_without_the_offset_fix_sqlglot_is_off_by_one():
    """The pitfall is real: sqlglot alone turns WITH OFFSET into 1-based WITH ORDINALITY."""
    import sqlglot

    bigquery = CASES[0][1]
    plain = sqlglot.transpile(bigquery, read="bigquery", write="duckdb")[0]
    assert duckdb.sql(plain).fetchall() == [("a", 1)]
    assert duckdb.sql(transpile(bigquery).sql).fetchall() == [("a", 0), ("b", 1)]


@pytest.mark.parametrize(("written", "local"), [
    ("`bigquery-public-data.idc_current.dicom_all`", "dicom_all"),
    ("`bigquery-public-data.idc_v21.dicom_all`", "dicom_all"),
    ("`bigquery-public-data`.idc_v25.dicom_metadata", "dicom_all"),
    ("idc_current.idc_index", "idc_index"),
    ("dicom_metadata", "dicom_all"),
    ("`my-project.idc_qc.series_geometry`", "series_geometry"),
])
def test_idc_table_names_are_mapped(written, local):
    result = transpile(f"SELECT COUNT(*) FROM {written}", local_tables={"dicom_all", "idc_index", "series_geometry"})
    assert list(result.tables.values()) == [local]
    assert f"FROM {local}" in result.sql and "bigquery-public-data" not in result.sql


def test_mapped_table_keeps_its_name_as_alias():
    sql = transpile("SELECT dicom_metadata.SOPInstanceUID FROM `bigquery-public-data.idc_current.dicom_metadata`").sql
    with duckdb.connect() as con:
        con.execute("create temp view dicom_all as select '1.2' as SOPInstanceUID")
        assert con.execute(sql).fetchall() == [("1.2",)]


def test_ctes_named_like_idc_tables_are_left_alone():
    sql = transpile("WITH dicom_metadata AS (SELECT 1 AS x) SELECT x FROM dicom_metadata").sql
    assert duckdb.sql(sql).fetchall() == [(1,)]


def test_releases_named_are_recorded():
    assert transpile("SELECT 1 FROM `bigquery-public-data.idc_v20.dicom_all`").releases == {"20"}


@pytest.mark.parametrize(("sql", "error", "words"), [
    ("SELECT * FROM `bigquery-public-data.idc_v25.auxiliary_metadata`", UnknownTable, "auxiliary_metadata has no local"),
    ("SELECT * FROM `bigquery-public-data.idc_v25_clinical.tcga_clinical`", UnknownTable, "clinical table"),
    ("SELECT * FROM `p.d.no_such_table`", UnknownTable, "p.d.no_such_table is not in the local warehouse"),
    ("SELECT 1; SELECT 2", QuerySyntaxError, "expected one query"),
    ("SELECT FROM WHERE (", QuerySyntaxError, "cannot parse"),
    ("CREATE TABLE x AS SELECT 1", NotReadOnly, "CREATE"),
])
def test_errors_are_one_line(sql, error, words):
    with pytest.raises(error) as info:
        transpile(sql, local_tables={"series"})
    assert words in str(info.value) and "\n" not in str(info.value)


def test_duckdb_dialect_is_passed_through():
    assert transpile("select 1;", "duckdb").sql == "select 1"
