"""dbt's docs reach the built database as comments (what `idc-qc query --tables` reads): on DuckDB
idc-qc writes them after dbt has run, in one pass (macros/cross_db/persist_docs.sql, build.py)."""

from __future__ import annotations

import json

import duckdb

from idc_qc.database.files import dbt_work_dir


def test_every_built_model_and_column_carries_its_description(synthetic_db):
    manifest = json.loads((dbt_work_dir(synthetic_db) / "target" / "manifest.json").read_text())
    con = duckdb.connect(str(synthetic_db), read_only=True)
    relations = dict(con.execute("select table_name, comment from duckdb_tables() union all "
                                 "select view_name, comment from duckdb_views() where not internal").fetchall())
    columns = {(t, c): comment for t, c, comment in con.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = current_database()").fetchall()}
    checked = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["config"]["materialized"] == "ephemeral":
            continue
        name = node["alias"] or node["name"]
        assert name in relations, f"{name} was not built"
        assert relations[name] == node["description"], name
        for column, spec in node["columns"].items():
            if (name, column) in columns and spec["description"]:
                assert columns[(name, column)] == spec["description"], (name, column)
                checked += 1
    assert checked > 500  # every documented column of every model (about a thousand)
