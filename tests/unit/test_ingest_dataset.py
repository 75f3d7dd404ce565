"""One DICOM data set -> one dicom_all-shaped row (idc_qc/ingest/dataset.py), on pydicom's own files."""

from __future__ import annotations

import datetime
import json
import os
import warnings

import pydicom
import pytest
from pydicom.data import get_testdata_file, get_testdata_files

from idc_qc.ingest.dataset import (
    DATE,
    FLOAT,
    INT,
    JSON,
    STRING,
    column_for,
    dataset_row,
)
from idc_qc.ingest.files import READ, read_file
from idc_qc.ingest.writer import rows_table, union_schema


def _row(name: str) -> dict:
    outcome = read_file(get_testdata_file(name))
    assert outcome.status == READ, outcome.reason
    return outcome.row


def test_columns_are_typed_from_the_dictionary_as_dicom_all():
    assert column_for(0x00080008) == column_for(pydicom.datadict.tag_for_keyword("ImageType"))
    kinds = {kw: (column_for(pydicom.datadict.tag_for_keyword(kw)).kind, column_for(
        pydicom.datadict.tag_for_keyword(kw)).multi) for kw in
        ["ImageType", "ImagePositionPatient", "SliceThickness", "KVP", "Rows", "StudyDate", "DiffusionBValue",
         "InstanceNumber", "ReferencedSeriesSequence", "PatientName", "TransferSyntaxUID"]}
    assert kinds == {
        "ImageType": (STRING, True), "ImagePositionPatient": (STRING, True), "SliceThickness": (STRING, False),
        "KVP": (STRING, False), "Rows": (INT, False), "StudyDate": (DATE, False), "DiffusionBValue": (FLOAT, False),
        "InstanceNumber": (STRING, False), "ReferencedSeriesSequence": (JSON, False), "PatientName": (STRING, False),
        "TransferSyntaxUID": (STRING, False),
    }
    assert column_for(0x7FE00010) is None  # PixelData: bulk data, not a column
    assert column_for(0x00091001) is None  # private: OtherElements
    assert column_for(0x00080000) is None  # group length


def test_ct_small_row_keeps_values_as_written():
    row = _row("CT_small.dcm")
    assert row["SliceThickness"] == "5.000000"  # the decimal string as written
    assert row["KVP"] == "120"  # written "120 ": padding trimmed
    assert row["Rows"] == 128 and isinstance(row["Rows"], int)
    assert row["StudyDate"] == datetime.date(2004, 1, 19)
    assert row["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert row["ImagePositionPatient"] == ["-158.135803", "-179.035797", "-75.699997"]
    assert row["TransferSyntaxUID"] == "1.2.840.10008.1.2.1"  # file meta information is kept
    assert "PixelData" not in row
    tags = {e["Tag"] for e in row["OtherElements"]}
    assert "Tag_00091001" in tags and all(t.startswith("Tag_") and len(t) == 12 for t in tags)


def test_sequences_are_json_lists_of_keyword_objects():
    row = _row("rtplan.dcm")
    beams = json.loads(row["BeamSequence"])
    assert isinstance(beams, list) and len(beams) >= 1
    assert beams[0]["BeamName"] and isinstance(beams[0]["ControlPointSequence"], list)


@pytest.mark.parametrize("variant", ["MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm"])
def test_every_encoding_gives_the_same_row(variant):
    """Little or big endian, explicit or implicit VR: the raw decoding gives pydicom's values."""
    skip = {"TransferSyntaxUID", "MediaStorageSOPInstanceUID", "ImplementationClassUID", "ImplementationVersionName",
            "SourceApplicationEntityTitle", "FileMetaInformationGroupLength", "OtherElements", "SpecificCharacterSet"}
    reference, other = _row("MR_small.dcm"), _row(variant)
    common = (reference.keys() & other.keys()) - skip
    assert len(common) > 40
    assert {k: reference[k] for k in common} == {k: other[k] for k in common}


def test_raw_decoding_matches_pydicom_conversion():
    """Our raw decoding equals what pydicom itself converts, attribute by attribute."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    row, problems = dataset_row(ds)
    assert problems == []
    compared = 0
    for elem in ds:
        column = column_for(elem.tag)
        if column is None or column.kind in (JSON, DATE) or elem.VR == "SQ":
            continue
        value = elem.value
        values = list(value) if isinstance(value, pydicom.multival.MultiValue) else [value]
        if column.kind == STRING:
            values = [str(v) for v in values]
        expected = values if column.multi else (values[0] if len(values) == 1 else "\\".join(values))
        if value in ("", None):
            expected = None  # an empty value is NULL, as in dicom_all
        assert row[elem.keyword] == expected, elem.keyword
        compared += 1
    assert compared > 40


def test_an_unreadable_value_is_a_problem_and_null_not_a_failure():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    ds.add_new(0x00280010, "UN", b"\x01")  # Rows (US): one byte cannot be an unsigned short
    ds.add_new(0x00080020, "DA", "2004-01-19")  # not YYYYMMDD
    row, problems = dataset_row(ds)
    assert row["Rows"] is None and row["StudyDate"] is None
    assert {p.attribute for p in problems} == {"Rows", "StudyDate"}
    assert row["SOPInstanceUID"] == ds.SOPInstanceUID  # the rest of the row is intact


def test_dates_read_by_the_fast_reader_as_by_pydicom(tmp_path):
    """The fast reader converts a YYYYMMDD date in one step; what is not one (a month 13, ACR-NEMA's
    dots, two values, padding) takes the general path: the same row and problems as pydicom's."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    written = {"StudyDate": "20240131", "SeriesDate": "20241332", "AcquisitionDate": "2024.01.31",
               "ContentDate": "20240131\\20240201", "PatientBirthDate": " 19600101", "InstanceCreationDate": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns of the invalid dates it is told to write
        for keyword, value in written.items():
            ds.add_new(pydicom.datadict.tag_for_keyword(keyword), "DA", value)
        ds.save_as(tmp_path / "dates.dcm")
        fast, general = read_file(str(tmp_path / "dates.dcm")), read_file(str(tmp_path / "dates.dcm"), fast=False)
    assert (fast.row, fast.problems) == (general.row, general.problems)
    row = fast.row
    assert row["StudyDate"] == row["AcquisitionDate"] == datetime.date(2024, 1, 31)
    assert row["PatientBirthDate"] == datetime.date(1960, 1, 1)
    assert row["SeriesDate"] is None and row["ContentDate"] is None and row.get("InstanceCreationDate") is None
    assert {p.attribute for p in fast.problems} == {"SeriesDate", "ContentDate"}


def test_reading_a_header_imports_neither_pydicom_nor_pandas(tmp_path):
    """The start-up of every ingest process: the fast reader needs only pydicom's dictionary (read
    alone, the same table as pydicom.datadict's), and Arrow converts the rows without pandas
    (0.3 s each); pandas still comes when asked for."""
    import subprocess
    import sys

    script = f"""
import sys
from idc_qc.ingest.writer import arrow_without_pandas, rows_table
from idc_qc.ingest.files import read_file
from idc_qc.instances.dicom_columns import standard_dictionary
arrow_without_pandas()
outcome = read_file({get_testdata_file("CT_small.dcm")!r})
table = rows_table([outcome.row])
assert outcome.status == "read" and table.num_rows == 1 and len(outcome.row) > 80, outcome
assert "pydicom" not in sys.modules and "pandas" not in sys.modules, sorted(
    m for m in sys.modules if m.split(".")[0] in ("pydicom", "pandas"))
alone = standard_dictionary()
import pydicom.datadict
assert alone == pydicom.datadict.DicomDictionary and alone is not pydicom.datadict.DicomDictionary
assert table.to_pandas().shape == (1, table.num_columns)  # pandas imported when needed
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_text_in_other_character_sets(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen"
    ds.save_as(tmp_path / "utf8.dcm")
    assert read_file(str(tmp_path / "utf8.dcm")).row["PatientName"] == "Müller^Jürgen"
    from pydicom.data import get_charset_files

    for name in ["chrH32.dcm", "chrRuss.dcm", "chrGreek.dcm"]:  # pydicom decodes these
        path = get_charset_files(name)[0]
        row = read_file(path).row
        assert row["PatientName"] == str(pydicom.dcmread(path).PatientName), name


def test_every_shipped_file_reads_without_raising_and_builds_one_schema():
    """pydicom's ~190 test files: each is read, skipped or failed with a reason; the rows of
    all of them make tables whose column types agree (one schema, typed from the dictionary)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in get_testdata_files():
            outcome = read_file(path)
            assert outcome.status in ("read", "skipped", "failed")
            assert outcome.status == "read" or outcome.reason
            if outcome.row is not None:
                rows.append(outcome.row)
    assert len(rows) > 120
    halves = [rows_table(rows[::2]), rows_table(rows[1::2])]
    common = set(halves[0].column_names) & set(halves[1].column_names)
    assert all(halves[0].schema.field(c).type == halves[1].schema.field(c).type for c in common)
    assert "OtherElements" in halves[0].column_names


def test_union_schema_covers_every_part(tmp_path):
    import pyarrow.parquet as pq

    file_columns = {"collection_id": "c", "instance_size": 1, "source_path": "/x.dcm"}
    a = rows_table([{**_row("CT_small.dcm"), **file_columns}])
    b = rows_table([{**_row("rtplan.dcm"), **file_columns}])
    pq.write_table(a, tmp_path / "a.parquet")
    pq.write_table(b, tmp_path / "b.parquet")
    schema = union_schema([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert set(schema.names) == set(a.column_names) | set(b.column_names)
    assert schema.names.index("TransferSyntaxUID") < schema.names.index("SOPInstanceUID")  # tag order
    assert schema.names[-3:] == ["collection_id", "instance_size", "source_path"]


def test_fast_reader_gives_pydicom_s_row_on_every_shipped_file():
    """idc_qc/ingest/fastread.py walks the bytes itself; on every file pydicom ships (and its
    character-set files) the outcome and the row equal those of pydicom.dcmread."""
    from pydicom.data import get_charset_files

    from idc_qc.ingest.fastread import read_fast

    compared = fast_read = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in get_testdata_files() + get_charset_files("*.dcm"):
            if not os.path.isfile(path):
                continue
            if read_fast(path) is not None:
                fast_read += 1
            quick, slow = read_file(path, fast=True), read_file(path, fast=False)
            assert (quick.status, quick.kind) == (slow.status, slow.kind), path
            if slow.row is None:
                continue
            assert quick.row == slow.row, path
            assert quick.problems == slow.problems, path
            compared += 1
    assert compared > 120 and fast_read > 100


def test_one_step_conversion_equals_the_general_path(monkeypatch):
    """dataset.FAST_VALUES converts common raw elements in one step; off, the general path
    gives the same row and problems on every shipped file."""
    from idc_qc.ingest import dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = [p for p in get_testdata_files() if os.path.isfile(p)]
        fast = [read_file(p) for p in paths]
        monkeypatch.setattr(dataset, "FAST_VALUES", False)
        general = [read_file(p) for p in paths]
    for path, a, b in zip(paths, fast, general):
        assert (a.row, a.problems) == (b.row, b.problems), path
