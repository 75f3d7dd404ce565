"""`idc-qc ingest` as a user runs it: DICOM files written with known geometry -> ingest -> build
-> exactly the verdicts they were written to have; broken files in the errors table; the wider
dicom_all columns readable by `idc-qc query --dialect bigquery`. One build for the module."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pydicom")

from support.dicom_files import (
    FAULT_SERIES,
    SEGMENTATION_UID,
    SEGMENTED_UID,
    UIH_IMAGES_IN_GRID,
    UIH_SERIES,
    UIH_TILE,
    enhanced_uid,
    series_uid,
    write_broken_files,
    write_enhanced_fault_objects,
    write_fault_series,
    write_segmentation,
    write_uih_grids,
)
from support.geometry import SeriesSpec, series_rows

pytestmark = pytest.mark.slow

BROKEN_UID = "1.2.826.0.1.3680043.8.498.25.99"


def _cli(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "idc_qc.cli", *args]
    if unprivileged and os.geteuid() == 0 and shutil.which("setpriv"):
        # root reads a mode-000 file; without CAP_DAC_OVERRIDE it gets "permission denied" as a user would
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ingest_cli")
    write_fault_series(root / "in" / "series")
    # the same faults as enhanced CT objects, one multi-frame file each (highdicom's legacy converter)
    enhanced = write_enhanced_fault_objects(root / "in" / "enhanced")
    segmentation = write_segmentation(root / "in" / "segmentation")  # a CT series and a SEG of it
    uih = write_uih_grids(root / "in" / "uih")  # United Imaging grids (its mosaics) and two controls
    broken = write_broken_files(root / "in" / "broken", series_rows(SeriesSpec(uid=BROKEN_UID, n=1))[0])
    out = root / "out"
    run = _cli("ingest", str(root / "in"), "-o", str(out), "--collection", "site_a", "--workers", "2",
               unprivileged=True)
    assert run.returncode == 0, run.stderr
    return {"root": root, "out": out, "run": run, "broken": broken, "enhanced": enhanced,
            "segmentation": segmentation, "uih": uih}


@pytest.fixture(scope="module")
def built(ingested) -> Path:
    db = ingested["root"] / "ingested" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
    db.parent.mkdir()
    run = _cli("build", "--instances", str(ingested["out"]), "--db", str(db))
    assert run.returncode == 0, run.stderr + run.stdout
    return db


def test_summary_counts_found_as_read_plus_skipped_plus_failed(ingested):
    text = " ".join(ingested["run"].stderr.split())
    found, read, skipped, failed = map(int, re.search(
        r"Found (\d+) files = (\d+) read \+ (\d+) skipped .*?\+ (\d+) failed", text).groups())
    series_files = sum(len(series_rows(SeriesSpec(uid="x", n=12, faults=f))) for f, _ in FAULT_SERIES.values())
    # broken/: valid, its copy, x.dcm/inside.dcm read; random, text skipped; DICOMDIR skipped;
    # truncated, zero bytes, broken link and the unreadable file failed
    unreadable_fails = os.geteuid() != 0 or shutil.which("setpriv") is not None
    # one enhanced object per fault; CT + SEG; the UIH files
    others = len(FAULT_SERIES) + len(ingested["segmentation"]) + sum(map(len, ingested["uih"].values()))
    assert (read, skipped) == (series_files + others + 3 + (0 if unreadable_fails else 1), 3)
    assert failed == 3 + (1 if unreadable_fails else 0)
    assert found == read + skipped + failed
    manifest = json.loads((ingested["out"] / "ingest_manifest.json").read_text())
    assert manifest["counts"]["found"] == found and manifest["counts"]["read"] == read
    assert "Next: idc-qc build --instances" in text


def test_errors_table_lists_every_broken_file_with_a_reason(ingested):
    errors = pq.read_table(ingested["out"] / "errors.parquet").to_pylist()
    by_name = {}
    for row in errors:
        by_name.setdefault(Path(row["path"]).name, set()).add(row["kind"])
    expected = {"truncated.dcm": {"failed"}, "zero.dcm": {"failed"}, "random.dcm": {"not_dicom"},
                "notes.txt": {"not_dicom"}, "DICOMDIR": {"dicomdir"}, "x.dcm": {"walk"},
                "back_to_parent": {"walk"}, "broken_link.dcm": {"failed"},
                "valid.dcm": {"duplicate_sop_instance"}, "copy_of_valid.dcm": {"duplicate_sop_instance"}}
    if os.geteuid() != 0 or shutil.which("setpriv"):
        expected["locked.dcm"] = {"failed"}
    assert by_name == expected
    locked = [r for r in errors if r["path"].endswith("locked.dcm")]
    assert not locked or locked[0]["reason"] == "permission denied"
    assert all(r["reason"] for r in errors)


def test_round_trip_gives_the_verdicts_the_files_were_written_with(built):
    with duckdb.connect(str(built), read_only=True) as con:
        rows = dict(con.execute(
            "select SeriesInstanceUID, failure_reasons from series_geometry").fetchall())
        keys = dict(con.execute("select label, reason_key from geometry_reasons where level = 'series'").fetchall())
        category = dict(con.execute("select SeriesInstanceUID, geometry_category from series_geometry").fetchall())
    for name, (_, reason) in FAULT_SERIES.items():
        got = [keys[label] for label in rows[series_uid(name)]]
        assert got == ([] if reason is None else [reason]), name
        assert (category[series_uid(name)] == "regular_volume") == (reason is None), name


def test_multi_frame_objects_are_judged_frame_by_frame_with_the_reasons_they_were_written_with(built):
    """Each fault written as one enhanced CT object (its slices the frames): the build judges the
    object from the frames table as the volume it is, with the reason the single-frame series of
    the same fault gets, and lists the offending frames under the object's UID and frame number."""
    with duckdb.connect(str(built), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "select SeriesInstanceUID, failure_reasons, geometry_category, instance_count, frame_count, "
            "max_number_of_frames from series_geometry").fetchall()}
        keys = dict(con.execute("select label, reason_key from geometry_reasons where level = 'series'").fetchall())
        offending = con.execute(
            "select SeriesInstanceUID, SOPInstanceUID, frame_number, reason from instance_geometry "
            "where SeriesInstanceUID like '1.2.826.0.1.3680043.8.498.29.%'").fetchall()
        single = con.execute(
            "select SeriesInstanceUID, count(*) from instance_geometry where frame_number is null "
            "and SeriesInstanceUID like '1.2.826.0.1.3680043.8.498.25.%' group by 1").fetchall()
        objects = dict(con.execute(
            "select SeriesInstanceUID, count(*) from stg_dicom__instances "
            "where SeriesInstanceUID like '1.2.826.0.1.3680043.8.498.29.%' group by 1").fetchall())
    for name, (_, reason) in FAULT_SERIES.items():
        reasons, category, instances, frames, max_frames = rows[enhanced_uid(name)]
        assert [keys[label] for label in reasons] == ([] if reason is None else [reason]), name
        assert (category == "regular_volume") == (reason is None), name
        twin = rows[series_uid(name)]
        assert (instances, frames, max_frames) == (twin[2], twin[2], 1), name  # every slice a frame
        assert objects[enhanced_uid(name)] == 1, name  # one file, one instance row
    # offending frames: the object's UID and a frame number, as many as the twin's offending instances
    assert offending and all(sop == series + ".1" and frame >= 1 for series, sop, frame, _ in offending)
    by_series = {}
    for series, _, _, _ in offending:
        by_series[series] = by_series.get(series, 0) + 1
    twins = {enhanced_uid(name): n for uid, n in single for name in FAULT_SERIES if series_uid(name) == uid}
    assert by_series == twins


def test_uih_grids_are_mosaics_as_dcm2niix_unpacks_them(built, ingested, tmp_path):
    """A United Imaging grid (NumberOfImagesInGrid in the private (0065,1050), read from
    OtherElements) is a mosaic with a reason of its own, never missing geometry; UIH slices without
    it, and the element from another maker, are plain slices. dcm2niix, run on the same files,
    reads them the same way: it unpacks the grids into 16 slices and leaves the others as written."""
    with duckdb.connect(str(built), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "select SeriesInstanceUID, geometry_category, failure_reasons, is_mosaic from series_geometry "
            "where SeriesInstanceUID like '1.2.826.0.1.3680043.8.498.31.%'").fetchall()}
    category, reasons, is_mosaic = rows[UIH_SERIES["uih_grid"][0]]
    assert (category, is_mosaic) == ("mosaic", True) and "uih mosaic" in reasons and "siemens mosaic" not in reasons
    for name in ("uih_plain", "grid_tag_not_uih"):
        assert rows[UIH_SERIES[name][0]] == ("regular_volume", [], False), name

    run = subprocess.run([str(Path(sys.executable).parent / "dcm2niix"), "-f", "%d", "-o", str(tmp_path),
                          str(ingested["root"] / "in" / "uih")], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    dims = {p.stem: struct.unpack("<8h", p.read_bytes()[40:56])[1:5] for p in tmp_path.glob("*.nii")}
    assert dims["uih_grid"] == (UIH_TILE, UIH_TILE, UIH_IMAGES_IN_GRID, UIH_SERIES["uih_grid"][1])
    assert dims["uih_plain"][2] == UIH_SERIES["uih_plain"][1] and dims["grid_tag_not_uih"][2] == UIH_SERIES["grid_tag_not_uih"][1]


def test_build_context_says_dicom_files_and_where_from(built, ingested):
    with duckdb.connect(str(built), read_only=True) as con:
        kind, synthetic, detail, notice = con.execute(
            "select input_kind, is_synthetic, input_detail, notice from rpt_build_context").fetchone()
        collections = con.execute("select distinct collection_id from stg_dicom__instances").fetchall()
    assert (kind, synthetic, notice) == ("dicom", False, "")
    assert "DICOM files read by idc-qc ingest from" in detail and str(ingested["root"] / "in") in detail
    assert "synth" not in detail.lower()
    assert collections == [("site_a",)]


def test_wider_columns_pass_through_staging_and_query(built):
    with duckdb.connect(str(built), read_only=True) as con:
        columns = {r[0] for r in con.execute("describe stg_dicom__instances").fetchall()}
    assert {"KVP", "StudyDate", "TransferSyntaxUID", "OtherElements", "instance_size", "source_path",
            "CTDIPhantomTypeCodeSequence"} <= columns
    sql = ("SELECT SeriesInstanceUID, ANY_VALUE(SAFE_CAST(SliceThickness AS FLOAT64)) AS thickness, "
           "ANY_VALUE(SAFE_CAST(KVP AS FLOAT64)) AS kvp, MIN(StudyDate) AS study_date, "
           "ANY_VALUE(TransferSyntaxUID) AS ts, SUM(instance_size) AS bytes "
           "FROM `bigquery-public-data.idc_current.dicom_all` WHERE SOPClassUID = '1.2.840.10008.5.1.4.1.1.2' "
           "GROUP BY SeriesInstanceUID ORDER BY 1")
    run = _cli("query", "--db", str(built), "--dialect", "bigquery", "-o", str(built.parent / "q.csv"), sql)
    assert run.returncode == 0, run.stderr
    rows = duckdb.sql(f"select * from read_csv('{built.parent / 'q.csv'}')").fetchall()
    assert len(rows) == len(FAULT_SERIES) + 2  # the faults, the broken folder's series, the segmented CT
    assert {(r[1], r[2], str(r[3]), r[4]) for r in rows} == {(2.5, 120.0, "2024-01-31", "1.2.840.10008.1.2.1")}


def test_idc_queries_run_on_the_ingested_files_or_say_why_in_one_line(built):
    """IDC's own SQL over dicom_all (every file idc-index-data ships that reads it), as a user runs
    it with `idc-qc query --dialect bigquery`: the CT, MR, PET, contrast, annotation, SEG and volume
    geometry indices run (attributes no file carries read as NULL, sequences as records); the
    others stop with one line saying why. seg_index.sql finds the SEG and the CT series it segments."""
    from support.idc_queries import run_all
    from idc_qc.query.run import run_query

    outcomes = {o.query: o for o in run_all(built)}
    assert not [o for o in outcomes.values() if o.crashed]
    assert all(o.ran or (o.reason and "\n" not in o.reason) for o in outcomes.values())
    ran = {name for name, o in outcomes.items() if o.ran}
    assert {"ct_index.sql", "mr_index.sql", "pt_index.sql", "contrast_index.sql", "volume_geometry_index.sql",
            "seg_index.sql", "ann_index.sql", "ann_group_index.sql"} <= ran, outcomes
    assert "dicom_metadata_curated" in outcomes["idc_index.sql"].reason  # IDC's curated table: not computed locally
    with duckdb.connect(str(built), read_only=True) as con:
        ct_series = con.execute("select count(distinct SeriesInstanceUID) from stg_dicom__instances "
                                "where SOPClassUID = '1.2.840.10008.5.1.4.1.1.2'").fetchone()[0]
    assert outcomes["ct_index.sql"].rows == ct_series
    from support.idc_queries import dicom_all_queries

    seg_sql = next(p for p in dicom_all_queries() if p.name == "seg_index.sql").read_text()
    result = run_query(built, seg_sql, dialect="bigquery")
    (row,) = result.table.to_pylist()
    assert (row["SeriesInstanceUID"], row["segmented_SeriesInstanceUID"]) == (SEGMENTATION_UID, SEGMENTED_UID)
    assert (row["total_segments"], row["SegmentedPropertyType_CodeMeanings"]) == (1, ["Neoplasm"])
    assert any("read as NULL" in w and "ReferencedImageSequence" in w for w in result.warnings)


def test_rerun_with_nothing_changed_reads_nothing(ingested):
    run = _cli("ingest", str(ingested["root"] / "in"), "-o", str(ingested["out"]), "--collection", "site_a",
               unprivileged=True)
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stderr.split())
    assert "this run read 0" in text and "removed" in text


def test_help_teaches_and_bad_input_is_one_line(tmp_path):
    help_text = " ".join(_cli("ingest", "--help").stdout.split())
    assert "idc-qc ingest /data/dicom" in help_text and "--collection" in help_text
    run = _cli("ingest", str(tmp_path / "nothing_here"), "-o", str(tmp_path / "out"))
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: no such file or folder")
