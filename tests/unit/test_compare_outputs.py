"""benchmarks/compare_outputs.py: the row comparison behind "results identical before and after"
(issue 24), and its --skip for the tables too large to compare at IDC's scale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("compare_outputs", REPO / "benchmarks" / "compare_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _database(folder: Path, parsed_rows: list[int], mart_rows: list[int]) -> Path:
    folder.mkdir()
    with duckdb.connect(str(folder / "idc_qc.duckdb")) as con:
        con.execute("create table int_instances__geometry_parsed as select unnest(?::bigint[]) as v", [parsed_rows])
        con.execute("create table series_geometry as select unnest(?::bigint[]) as v", [mart_rows])
        con.execute("create view stg_dicom__instances as select * from int_instances__geometry_parsed")
    return folder


def test_skip_leaves_the_named_relations_out_and_compares_the_rest(tmp_path, capsys):
    compare = _module()
    before = _database(tmp_path / "before", [1, 2, 3], [7, 7, 8])
    after = _database(tmp_path / "after", [1, 2, 4], [7, 8, 7])  # same marts, other parsed rows

    assert compare.main([str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert "table int_instances__geometry_parsed: 3 / 3 rows, DIFFER (1 rows only before, 1 only after)" in out

    assert compare.main([str(before), str(after), "--skip", "int_instances__*", "--skip", "stg_dicom__*"]) == 0
    out = capsys.readouterr().out
    assert "table int_instances__geometry_parsed: skipped (--skip)" in out
    assert "table stg_dicom__instances: skipped (--skip)" in out
    assert "table series_geometry: 3 / 3 rows, same rows" in out


def test_skip_does_not_hide_a_differing_mart(tmp_path, capsys):
    compare = _module()
    before = _database(tmp_path / "before", [1], [7, 7])
    after = _database(tmp_path / "after", [1], [7])  # one copy fewer: a multiset difference

    assert compare.main([str(before), str(after), "--skip", "int_instances__geometry_parsed"]) == 1
    assert "table series_geometry: 2 / 1 rows, DIFFER (1 rows only before, 0 only after)" in capsys.readouterr().out


def test_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        _module().main([str(tmp_path / "nowhere"), str(tmp_path)])
    assert exit_.value.code == 2
    assert "is not a folder" in capsys.readouterr().err
