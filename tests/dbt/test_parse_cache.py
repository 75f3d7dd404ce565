"""A build in a new folder parses the project warm (idc_qc.dbt_runner.parse_project).

dbt writes what it parsed in ``perf_info.json``: ``parsed_path_count`` is the number of files
it read anew. A second folder with the same vars reads none of them; another input (a RUN_VARS
value, passed in the environment) reads only the few files that read it, and the manifest has
the new paths; other vars read them all (dbt's own check still decides); the profile's database
path is not what the parse is keyed on.
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
    # another input: the source's file and the nodes that read the source (about 50 of 260 files)
    other_input = dbt_vars(instances=str(tmp_path / "other" / "*.parquet"))
    reread = _parse(tmp_path / "c" / "idc_qc.duckdb", other_input)
    assert 0 < reread < first / 2, (reread, first)
    # another description of the input: the one model that reads it (and its yml)
    assert 0 < _parse(tmp_path / "c2" / "idc_qc.duckdb", {**other_input, "input_detail": "another"}) <= 3
    manifest = json.loads((tmp_path / "c" / "dbt" / "target" / "manifest.json").read_text())
    source = manifest["sources"]["source.idc_qc.dicom.dicom_all"]
    assert str(tmp_path / "other") in source["config"]["external_location"]
    assert str(tmp_path / "input") not in json.dumps(manifest["sources"])
    other = {**same, "relative_slice_tolerance": 0.02}
    assert _parse(tmp_path / "d" / "idc_qc.duckdb", other) == first  # other vars: dbt parses it all
    # no database was opened or created for the parse
    assert not any(p.suffix == ".duckdb" for p in tmp_path.rglob("*"))


def test_every_run_var_is_read_from_the_environment_first():
    """A RUN_VARS name read with var() alone would be the value of the first build parsed: each
    use is ``idc_qc.run_var`` (macros) or the same expression inline (YAML)."""
    from idc_qc.dbt_runner import RUN_VAR_PREFIX, RUN_VARS

    root = Path(__file__).resolve().parents[2]
    uses = 0
    for path in sorted([*(root / "models").rglob("*.sql"), *(root / "models").rglob("*.yml"),
                        *(root / "macros").rglob("*.sql")]):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix == ".yml" else line
            for name in RUN_VARS:
                for _ in re.finditer(rf"(?<![_a-z])var\(\s*'{name}'", code):
                    uses += 1
                    assert f"env_var('{RUN_VAR_PREFIX}{name}'" in code or path.name == "run_var.sql", \
                        f"{path.relative_to(root)}:{number} reads var('{name}') without ${RUN_VAR_PREFIX}{name}"
            uses += sum(code.count(f"run_var('{name}'") for name in RUN_VARS)
    assert uses >= len(RUN_VARS), uses  # each is read somewhere
