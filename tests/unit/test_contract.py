"""The instance input: one declared schema, files resolved once and literally, every file checked.

Tiny parquet files in tmp_path; real DuckDB reads. Each refusal is one line naming the file,
the column, the expected type and what was found.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from idc_qc.errors import ContractError
from idc_qc.instances import schema
from idc_qc.instances.contract import check_instances
from idc_qc.instances.files import dbt_instances_var, duckdb_literal_path, resolve_instances
from idc_qc.instances.schema import COLUMNS, OPTIONAL, REQUIRED

REPO = Path(__file__).resolve().parents[2]
STAGING = REPO / "models" / "staging" / "dicom"

#: File names that once were read as templates or patterns (issue 8).
ODD_NAMES = ["{name}.parquet", "a{b.parquet", "{{ 1 }}.parquet", "in st'ances [1].parquet",
             "100% é ünï.parquet", "x*y?.parquet", "{% raw %}.parquet"]


def _write(path: Path, columns: dict[str, pa.Array]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def _minimal(n: int = 1, uid: str = "1.2.3", **overrides) -> dict[str, pa.Array]:
    columns = {
        "SeriesInstanceUID": pa.array([uid] * n),
        "SOPInstanceUID": pa.array([f"{uid}.{k}" for k in range(n)]),
        "SOPClassUID": pa.array(["1.2.840.10008.5.1.4.1.1.2"] * n),
        "ImagePositionPatient": pa.array([["0", "0", str(k)] for k in range(n)]),
        "ImageOrientationPatient": pa.array([["1", "0", "0", "0", "1", "0"]] * n),
    }
    columns.update(overrides)
    return columns


def _one_line(info) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------------------------
# the one declaration, and everything that must agree with it


def test_schema_declares_each_column_once_with_a_known_kind_and_tag():
    names = [c.name for c in COLUMNS]
    assert len(names) == len(set(n.lower() for n in names))
    assert list(REQUIRED) == ["SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "ImagePositionPatient",
                              "ImageOrientationPatient"]
    for c in COLUMNS:
        assert c.kind in schema.KINDS and c.description.endswith(".")
        assert c.tag is None or re.fullmatch(r"\([0-9A-F]{4},[0-9A-F]{4}\)", c.tag), c
        assert c.tag is None or c.tag in c.description, c  # the yml descriptions name the tag
    assert schema.arrow_schema().names == names


def test_staging_sql_selects_the_declared_columns_in_order_with_their_kinds():
    sql = (STAGING / "stg_dicom__instances.sql").read_text()
    calls = re.findall(r"instance_column\('(\w+)'(?:,\s*'(\w+)')?\)", sql)
    assert [(name, kind or "string") for name, kind in calls] == [(c.name, c.kind) for c in COLUMNS]


def test_staging_yml_documents_the_declared_columns_in_order():
    models = yaml.safe_load((STAGING / "_dicom__models.yml").read_text())["models"]
    (model,) = [m for m in models if m["name"] == "stg_dicom__instances"]
    documented = [(col["name"], col["description"]) for col in model["columns"]]
    declared = {c.name for c in COLUMNS}
    # staging derives one column of its own (a status, not an input column): documented, not declared
    assert {name for name, _ in documented} - declared == {"dimensions_not_integers"}
    assert [d for d in documented if d[0] in declared] == [(c.name, c.description) for c in COLUMNS]


def test_docs_table_is_generated_from_the_schema():
    page = (REPO / "docs" / "instance_contract.md").read_text()
    assert schema.render_docs(page) == page, "run: python -m idc_qc.instances docs/instance_contract.md"
    assert schema.markdown_table() in page


def test_synth_writes_declared_columns_and_types():
    from idc_qc.synth import INSTANCE_COLUMNS, NOT_WRITTEN

    assert list(INSTANCE_COLUMNS) == [c.name for c in COLUMNS if c.name not in NOT_WRITTEN]
    assert all(INSTANCE_COLUMNS[c.name] == schema.arrow_type(c.kind) for c in COLUMNS if c.name in INSTANCE_COLUMNS)


# ------------------------------------------------------------------------------------------
# the contract check


def test_minimal_file_passes_and_lists_every_absent_optional_column(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal())
    report = check_instances(str(path))
    assert report.files == [str(path)]
    assert report.absent_optional == list(OPTIONAL)


def test_numeric_arrays_and_string_rows_are_accepted(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal(
        ImagePositionPatient=pa.array([[0.0, 0.0, 1.5]]),
        Rows=pa.array(["512"]),
        Columns=pa.array([512]),
    ))
    report = check_instances(str(path))
    assert "Rows" not in report.absent_optional and "Columns" not in report.absent_optional


@pytest.mark.parametrize("missing", list(REQUIRED))
def test_missing_required_column_is_named(tmp_path, missing):
    columns = _minimal()
    del columns[missing]
    path = _write(tmp_path / "a.parquet", columns)
    with pytest.raises(ContractError) as info:
        check_instances(str(path))
    kind = schema.BY_NAME[missing].kind
    assert _one_line(info) == f"instance file {str(path)!r} has no column {missing} (required; expected {schema.ACCEPTS[kind]})"


def test_scalar_string_where_an_array_is_required_is_named(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal(ImagePositionPatient=pa.array(["0\\0\\1.5"])))
    with pytest.raises(ContractError) as info:
        check_instances(str(path))
    assert _one_line(info) == (f"column ImagePositionPatient of {str(path)!r} is VARCHAR; expected a list of strings "
                               "or numbers, e.g. VARCHAR[] as in IDC's dicom_all, or DOUBLE[]")


def test_wrong_integer_type_is_named(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal(Rows=pa.array([512.5])))
    with pytest.raises(ContractError) as info:
        check_instances(str(path))
    assert _one_line(info) == f"column Rows of {str(path)!r} is DOUBLE; expected an integer (or a string holding one)"


def test_untyped_all_null_optional_column_counts_as_absent(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal(Modality=pa.nulls(1)))
    assert "Modality" in check_instances(str(path)).absent_optional


def test_truncated_file_is_one_clear_error(tmp_path):
    good = _write(tmp_path / "good.parquet", _minimal())
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ContractError) as info:
        check_instances(str(bad))
    assert _one_line(info).startswith(f"cannot read {str(bad)!r} as parquet (")


def test_wrong_paths_are_one_clear_error(tmp_path):
    with pytest.raises(ContractError) as info:
        check_instances(str(tmp_path / "nope" / "*.parquet"))
    assert _one_line(info) == f"--instances {str(tmp_path / 'nope' / '*.parquet')!r} matches no file"
    with pytest.raises(ContractError) as info:
        check_instances(str(tmp_path / "nope.parquet"))
    assert _one_line(info) == f"--instances {str(tmp_path / 'nope.parquet')!r} matches no file"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContractError) as info:
        check_instances(str(tmp_path / "empty"))
    assert _one_line(info) == f"--instances folder {str(tmp_path / 'empty')!r} holds no .parquet file"


def test_folder_and_glob_with_differing_columns_are_read_by_name(tmp_path):
    _write(tmp_path / "part-0.parquet", _minimal())
    _write(tmp_path / "part-1.parquet", _minimal(Modality=pa.array(["CT"])))
    for given in (str(tmp_path), str(tmp_path / "part-*.parquet")):
        report = check_instances(given)
        assert len(report.files) == 2
        assert "Modality" not in report.absent_optional and "PatientID" in report.absent_optional


@pytest.mark.parametrize("how", ["folder", "glob"])
def test_every_file_is_checked_not_only_the_first(tmp_path, how):
    """Issue 8: a second file without ImageOrientationPatient used to pass; its series then
    became malformed_geometry silently."""
    _write(tmp_path / "parts" / "part-0.parquet", _minimal())
    columns = _minimal(uid="4.5.6")
    del columns["ImageOrientationPatient"]
    second = _write(tmp_path / "parts" / "sub" / "part-1.parquet", columns)
    given = str(tmp_path / "parts") if how == "folder" else str(tmp_path / "parts" / "**" / "*.parquet")
    with pytest.raises(ContractError) as info:
        check_instances(given)
    assert _one_line(info) == (f"instance file {str(second)!r} has no column ImageOrientationPatient (required; "
                               "expected a list of strings or numbers, e.g. VARCHAR[] as in IDC's dicom_all, or DOUBLE[])")


def test_a_later_file_with_a_wrong_type_is_named(tmp_path):
    _write(tmp_path / "part-0.parquet", _minimal())
    third = _write(tmp_path / "part-2.parquet", _minimal(PixelSpacing=pa.array(["0.7\\0.7"])))
    _write(tmp_path / "part-1.parquet", _minimal())
    with pytest.raises(ContractError) as info:
        check_instances(str(tmp_path))
    assert _one_line(info).startswith(f"column PixelSpacing of {str(third)!r} is VARCHAR; expected a list")


def test_checking_fifty_files_reads_metadata_only_and_is_fast(tmp_path):
    rows = 20_000
    for k in range(50):
        _write(tmp_path / f"part-{k:02d}.parquet", _minimal(n=rows, uid=f"1.2.{k}"))
    started = time.perf_counter()
    report = check_instances(str(tmp_path))
    seconds = time.perf_counter() - started
    assert len(report.files) == 50
    assert seconds < 5, f"checking 50 files took {seconds:.1f}s"


# ------------------------------------------------------------------------------------------
# file resolution: a file is literal, a folder is its parquet files, a glob only when no such file


@pytest.mark.parametrize("name", ODD_NAMES)
def test_an_existing_file_is_read_literally_whatever_its_name(tmp_path, name):
    odd = _write(tmp_path / name, _minimal(n=2, uid="9.9"))
    # Decoys a template or a glob would pick instead.
    _write(tmp_path / "dicom_all.parquet", _minimal(n=5, uid="1.1"))
    _write(tmp_path / "in st'ances 1.parquet", _minimal(n=5, uid="1.1"))
    _write(tmp_path / "xAyB.parquet", _minimal(n=5, uid="1.1"))
    assert resolve_instances(str(odd)) == [str(odd)]
    report = check_instances(str(odd))
    assert report.files == [str(odd)]
    with duckdb.connect() as con:
        rows = con.execute("select count(*), list(distinct SeriesInstanceUID) from read_parquet(?)",
                           [dbt_instances_var(report.files)]).fetchone()
    assert rows == (2, ["9.9"])


def test_a_glob_expands_only_when_no_file_has_that_name(tmp_path):
    a = _write(tmp_path / "a1.parquet", _minimal())
    b = _write(tmp_path / "a2.parquet", _minimal())
    assert resolve_instances(str(tmp_path / "a?.parquet")) == [str(a), str(b)]
    literal = _write(tmp_path / "a?.parquet", _minimal())
    assert resolve_instances(str(tmp_path / "a?.parquet")) == [str(literal)]


def test_a_folder_is_its_parquet_files_recursively_and_only_those(tmp_path):
    a = _write(tmp_path / "d" / "{x} [1].parquet", _minimal())
    b = _write(tmp_path / "d" / "sub" / "b.parquet", _minimal())
    (tmp_path / "d" / "notes.txt").write_text("not parquet")
    assert resolve_instances(str(tmp_path / "d")) == sorted([str(a), str(b)])


def test_a_synth_output_folder_is_its_instances_not_its_truth(tmp_path):
    """`idc-qc build --instances build/synth` (the folder synth wrote) reads its instances; its
    truth.parquet is no instance file. The parts count as carrying every attribute of their
    instances (an absent one reads as NULL in `idc-qc query`); a folder without the manifest does not."""
    from idc_qc.instances.files import SYNTH_MANIFEST, carries_every_attribute
    from idc_qc.synth import MANIFEST

    assert MANIFEST == SYNTH_MANIFEST
    out = tmp_path / "synth"
    part = _write(out / "instances" / "part-00000.parquet", _minimal())
    truth = _write(out / "truth.parquet", _minimal())
    assert resolve_instances(str(out)) == sorted([str(part), str(truth)])  # no manifest: any folder
    assert not carries_every_attribute(str(part))
    (out / SYNTH_MANIFEST).write_text("{}")
    assert resolve_instances(str(out)) == [str(part)]
    assert carries_every_attribute(str(part)) and not carries_every_attribute(str(truth))


def test_the_check_tells_series_ordered_input_from_input_in_arbitrary_order(tmp_path):
    """Series by series (as synth writes), the build parses the instances as they come; in
    arbitrary order (an export, a parallel ingest) it writes them series by series first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from idc_qc.instances.contract import SERIES_RUN_LENGTH, SMALL_INPUT_ROWS, is_series_ordered

    uids = [f"1.2.{s}" for s in range(40) for _ in range(SMALL_INPUT_ROWS // 40 + SERIES_RUN_LENGTH)]
    pq.write_table(pa.table({"SeriesInstanceUID": uids}), tmp_path / "ordered.parquet")
    interleaved = [f"1.2.{i % 40}" for i in range(len(uids))]
    pq.write_table(pa.table({"SeriesInstanceUID": interleaved}), tmp_path / "interleaved.parquet")
    assert is_series_ordered([str(tmp_path / "ordered.parquet")])
    assert not is_series_ordered([str(tmp_path / "interleaved.parquet")])
    assert not is_series_ordered([str(tmp_path / "ordered.parquet"), str(tmp_path / "interleaved.parquet")])
    assert not is_series_ordered(["s3://bucket/x.parquet"]) and not is_series_ordered([])
    # each file's rows are looked at on their own: two ordered files are ordered
    pq.write_table(pa.table({"SeriesInstanceUID": uids[::-1]}), tmp_path / "also.parquet")
    assert is_series_ordered([str(tmp_path / "ordered.parquet"), str(tmp_path / "also.parquet")])
    # too small for the order to matter: taken as it comes
    pq.write_table(pa.table({"SeriesInstanceUID": interleaved[:SMALL_INPUT_ROWS - 1]}), tmp_path / "small.parquet")
    assert is_series_ordered([str(tmp_path / "small.parquet")])


def test_relative_paths_become_absolute(tmp_path, monkeypatch):
    path = _write(tmp_path / "rel.parquet", _minimal())
    monkeypatch.chdir(tmp_path)
    assert resolve_instances("rel.parquet") == [str(path)]


@pytest.mark.parametrize("url", ["s3://bucket/idc/*.parquet", "gs://bucket/a.parquet", "https://example.org/x.parquet"])
def test_remote_urls_pass_through_unchanged(url):
    assert resolve_instances(url) == [url]
    assert dbt_instances_var([url]) == [url]


def test_duckdb_literal_path_escapes_only_glob_characters():
    assert duckdb_literal_path("/d/plain {name} 100%.parquet") == "/d/plain {name} 100%.parquet"
    assert duckdb_literal_path("/d[1]/a*b?.parquet") == "/d[[]1]/a[*]b[?].parquet"
