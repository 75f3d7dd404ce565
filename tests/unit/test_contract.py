"""The instance-metadata contract: clear one-line errors before dbt runs, nothing dropped."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from idc_qc.contract import OPTIONAL, REQUIRED, check_instances
from idc_qc.errors import ContractError


def _write(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def _minimal(**overrides) -> dict[str, pa.Array]:
    columns = {
        "SeriesInstanceUID": pa.array(["1.2.3"]),
        "SOPInstanceUID": pa.array(["1.2.3.1"]),
        "SOPClassUID": pa.array(["1.2.840.10008.5.1.4.1.1.2"]),
        "ImagePositionPatient": pa.array([["0", "0", "1.5"]]),
        "ImageOrientationPatient": pa.array([["1", "0", "0", "0", "1", "0"]]),
    }
    columns.update(overrides)
    return columns


def test_minimal_file_passes_and_lists_every_absent_optional_column(tmp_path):
    report = check_instances(str(_write(tmp_path / "a.parquet", _minimal())))
    assert report.files == 1
    assert set(report.absent_optional) == set(OPTIONAL)


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
    with pytest.raises(ContractError, match=f"no column {missing}"):
        check_instances(str(_write(tmp_path / "a.parquet", columns)))


def test_scalar_string_where_an_array_is_required_is_named(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal(ImagePositionPatient=pa.array(["0\\0\\1.5"])))
    with pytest.raises(ContractError, match=r"column ImagePositionPatient .* is VARCHAR; expected a list"):
        check_instances(str(path))


def test_wrong_integer_type_is_named(tmp_path):
    path = _write(tmp_path / "a.parquet", _minimal(Rows=pa.array([512.5])))
    with pytest.raises(ContractError, match="column Rows .* is DOUBLE; expected an integer"):
        check_instances(str(path))


def test_truncated_file_is_one_clear_error(tmp_path):
    good = _write(tmp_path / "good.parquet", _minimal())
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ContractError, match="cannot read .* as parquet") as info:
        check_instances(str(bad))
    assert "\n" not in str(info.value)


def test_wrong_paths_are_one_clear_error(tmp_path):
    with pytest.raises(ContractError, match="matches no file"):
        check_instances(str(tmp_path / "nope" / "*.parquet"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContractError, match="holds no .parquet file"):
        check_instances(str(tmp_path / "empty"))


def test_folder_and_glob_with_differing_columns_are_read_by_name(tmp_path):
    _write(tmp_path / "part-0.parquet", _minimal())
    _write(tmp_path / "part-1.parquet", _minimal(Modality=pa.array(["CT"])))
    report = check_instances(str(tmp_path))
    assert report.files == 2
    assert "Modality" not in report.absent_optional
