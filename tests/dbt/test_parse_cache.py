"""A build in a new folder parses the project warm (idc_qc.dbt_runner.parse_project).

dbt writes what it parsed in ``perf_info.json``: ``parsed_path_count`` is the number of files
it read anew. A second folder with the same vars reads none of them; nor does another input (a
RUN_VARS value, passed in the environment and read only when a model runs: the parsed manifest
has no path in it); other vars read them all (dbt's own check still decides); the profile's
database path is not what the parse is keyed on.
"""

from __future__ import annotations

import json
import re
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
    # another input, another description of it: read when the models run, not parsed
    other_input = dbt_vars(instances=str(tmp_path / "other" / "*.parquet"))
    assert _parse(tmp_path / "c" / "idc_qc.duckdb", other_input) == 0
    assert _parse(tmp_path / "c2" / "idc_qc.duckdb", {**other_input, "input_detail": "another"}) == 0
    parsed = (tmp_path / "c" / "dbt" / "target" / "partial_parse.msgpack").read_bytes()
    assert b"model.idc_qc.stg_dicom__instances" in parsed
    assert str(tmp_path / "other").encode() not in parsed and str(tmp_path / "input").encode() not in parsed
    other = {**same, "relative_slice_tolerance": 0.02}
    assert _parse(tmp_path / "d" / "idc_qc.duckdb", other) == first  # other vars: dbt parses it all
    # no database was opened or created for the parse
    assert not any(p.suffix == ".duckdb" for p in tmp_path.rglob("*"))


def test_run_vars_are_read_only_when_a_model_runs():
    """dbt re-parses every file that read a changed environment variable, and everything
    downstream of a source whose YAML did: a RUN_VARS name is read through ``idc_qc.run_var``
    (which reads the environment only when executing) or named by a source's meta ``run_var``
    (read by ``idc_qc.source_files``), never with var() or env_var() directly."""
    from idc_qc.dbt_runner import RUN_VAR_PREFIX, RUN_VARS

    root = Path(__file__).resolve().parents[2]
    used = set()
    for path in sorted([*(root / "models").rglob("*.sql"), *(root / "models").rglob("*.yml"),
                        *(root / "macros").rglob("*.sql")]):
        if path.name == "run_var.sql":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix == ".yml" else line
            where = f"{path.relative_to(root)}:{number}"
            assert RUN_VAR_PREFIX not in code, f"{where} reads ${RUN_VAR_PREFIX}... itself: use idc_qc.run_var"
            # a source's files are named when the model runs; source() alone renders no path
            assert not re.search(r"from \{\{\s*source\(", code), f"{where} selects from source(): use idc_qc.source_files"
            for name in RUN_VARS:
                assert not re.search(rf"(?<![_a-z])var\(\s*'{name}'", code), f"{where} reads var('{name}'): use idc_qc.run_var"
                if f"run_var('{name}'" in code or re.fullmatch(rf"\s*run_var:\s*{name}\s*", code):
                    used.add(name)
    assert used == set(RUN_VARS), set(RUN_VARS) - used  # each is read somewhere
