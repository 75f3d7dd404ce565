"""Input provenance: what synth marks, what a build detects, what readers see without it."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from idc_qc.provenance import (PARQUET_KEY, SYNTHETIC_NOTICE, BuildContext, InputProvenance, detect_input,
                               read_build_context)


def _parquet(path, metadata=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, pa.schema([("a", pa.int64())]), store_schema=False) as writer:
        writer.write_table(pa.table({"a": [1]}))
        if metadata:
            writer.add_key_value_metadata(metadata)
    return str(path)


def test_index_alone():
    assert detect_input(None).kind == "index_only"
    assert detect_input([]).kind == "index_only"


def test_marked_parquet_is_synthetic(tmp_path):
    marked = _parquet(tmp_path / "x" / "part.parquet", {PARQUET_KEY: "synthetic"})
    assert detect_input([marked]).kind == "synthetic"


def test_unmarked_parquet_is_dicom(tmp_path):
    plain = _parquet(tmp_path / "y" / "instances.parquet")
    found = detect_input([plain])
    assert found.kind == "dicom" and not found.is_synthetic


@pytest.mark.parametrize("manifest", ["synth_manifest.json", "manifest.json"])
def test_synth_manifest_beside_the_parts_is_synthetic(tmp_path, manifest):
    """Runs written before the footer mark (e.g. /tmp/synth_full) are known by their manifest."""
    part = _parquet(tmp_path / "run" / "instances" / "part-00000.parquet")
    (tmp_path / "run" / manifest).write_text(json.dumps(
        {"generator": "idc_qc.synth", "seed": 3, "series": 10, "faults": {"none": 7, "gantry_tilt": 3}}))
    found = detect_input([part])
    assert found.kind == "synthetic"
    assert "seed 3" in found.detail and "3 series with injected faults" in found.detail


def test_foreign_manifest_is_not_synthetic(tmp_path):
    part = _parquet(tmp_path / "run" / "instances" / "part-00000.parquet")
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({"generator": "someone-else"}))
    assert detect_input([part]).kind == "dicom"


def test_remote_and_unreadable_inputs_are_unknown(tmp_path):
    assert detect_input(["gs://bucket/instances/*.parquet"]).kind == "unknown"
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    assert detect_input([str(broken)]).kind == "unknown"


def test_dbt_vars():
    assert InputProvenance("synthetic", "d").dbt_vars() == {"input_kind": "synthetic", "input_detail": "d"}


def test_reader_without_the_table_sees_unknown(tmp_path):
    import duckdb

    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        assert read_build_context(con) == BuildContext()
        assert read_build_context(con).notice is None
        con.execute("create table rpt_build_context as select 'synthetic' as input_kind, 'x' as input_detail")
        assert read_build_context(con).notice == SYNTHETIC_NOTICE
        con.execute("update rpt_build_context set input_kind = 'bogus'")
        assert read_build_context(con).input_kind == "unknown"


def test_synth_marks_every_parquet_file(tmp_path):
    from idc_qc.synth import synthesize

    result = synthesize(tmp_path / "synth", series_limit=3, seed=0)
    files = sorted((tmp_path / "synth" / "instances").glob("*.parquet")) + [result.truth_path]
    for path in files:
        assert (pq.read_metadata(path).metadata or {}).get(PARQUET_KEY.encode()) == b"synthetic", path
    assert json.loads((tmp_path / "synth" / "synth_manifest.json").read_text())["input_kind"] == "synthetic"
    assert detect_input([str(p) for p in files[:-1]]).kind == "synthetic"
