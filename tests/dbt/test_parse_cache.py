"""A build in a new folder parses the project warm (idc_qc.dbt_runner.parse_project).

dbt writes what it parsed in ``perf_info.json``: ``parsed_path_count`` is the number of files
it read anew. A second folder with the same vars reads none of them; other vars read them all
(dbt's own check still decides); the profile's database path is not what the parse is keyed on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _parse(db: Path, vars: dict) -> int:
    from idc_qc.dbt_runner import parse_project

    work = db.parent / "dbt"
    manifest = parse_project(db_path=db, vars=vars, work_dir=work)
    assert "model.idc_qc.series_geometry" in manifest.nodes
    return json.loads((work / "target" / "perf_info.json").read_text())["parsed_path_count"]


def test_a_new_folder_reuses_the_parse_of_another_and_other_vars_parse_anew(tmp_path, monkeypatch):
    from idc_qc.dbt_runner import dbt_vars

    monkeypatch.setenv("IDC_QC_CACHE_DIR", str(tmp_path / "cache"))
    same = dbt_vars(instances=str(tmp_path / "input" / "*.parquet"))
    first = _parse(tmp_path / "a" / "idc_qc.duckdb", same)
    assert first > 50, first  # cold: every model, yml, macro and seed file
    assert list((tmp_path / "cache" / "dbt-parse").glob("*.msgpack"))
    assert _parse(tmp_path / "b" / "idc_qc.duckdb", same) == 0  # another folder: nothing read anew
    other = dbt_vars(instances=str(tmp_path / "other" / "*.parquet"))
    assert _parse(tmp_path / "c" / "idc_qc.duckdb", other) == first  # other vars: dbt parses it all
    # no database was opened or created for the parse
    assert not any(p.suffix == ".duckdb" for p in tmp_path.rglob("*"))
