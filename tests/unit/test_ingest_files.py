"""Walking folders, classifying broken files, and incremental reruns (idc_qc/ingest), on small files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("pydicom")

from support.dicom_files import dataset_for, write_broken_files, write_file
from support.geometry import SeriesSpec, series_rows

from idc_qc.errors import IdcQcError
from idc_qc.ingest.files import (
    FAILED,
    READ,
    SKIPPED,
    FoundFile,
    WalkNote,
    read_file,
    walk,
)
from idc_qc.ingest.run import ingest
from idc_qc.instances.contract import check_instances
from idc_qc.instances.files import resolve_instances


def _rows(n: int = 6, uid: str = "1.2.826.0.1.3680043.8.498.26.1") -> list[dict]:
    return series_rows(SeriesSpec(uid=uid, n=n, rows=16, columns=16))


@pytest.fixture()
def broken(tmp_path) -> dict[str, Path]:
    return write_broken_files(tmp_path / "in", _rows(1)[0])


def test_walk_never_follows_a_loop_and_reads_a_linked_file_once(tmp_path):
    write_file(dataset_for(_rows(1)[0]), tmp_path / "a" / "one.dcm")
    os.symlink(tmp_path / "a", tmp_path / "link_to_a")            # the same folder twice
    os.symlink(tmp_path, tmp_path / "a" / "up")                    # a loop
    os.symlink(tmp_path / "a" / "one.dcm", tmp_path / "again.dcm")  # the same file twice
    items = list(walk([str(tmp_path), str(tmp_path / "a")]))
    files = [i for i in items if isinstance(i, FoundFile)]
    notes = [i for i in items if isinstance(i, WalkNote)]
    assert len(files) == 1
    assert [n.reason.split(":")[0] for n in notes] == ["symlink loop"]


def test_each_broken_file_is_classified(broken):
    outcomes = {case: read_file(str(path)) for case, path in broken.items()
                if case not in ("folder_named_dcm", "symlink_loop", "broken_link")}
    status = {case: (o.status, o.kind) for case, o in outcomes.items()}
    expected = {
        "valid": (READ, None), "duplicate": (READ, None),
        "truncated": (FAILED, "failed"), "zero_bytes": (FAILED, "failed"),
        "random_bytes": (SKIPPED, "not_dicom"), "text": (SKIPPED, "not_dicom"),
        "dicomdir": (SKIPPED, "dicomdir"),
        # root reads a mode-000 file (CAP_DAC_OVERRIDE); tests/cli/test_ingest.py drops that capability
        "unreadable": (READ, None) if os.geteuid() == 0 else (FAILED, "failed"),
    }
    assert status == expected
    assert outcomes["zero_bytes"].reason == "empty file (0 bytes)"
    assert "truncated" in outcomes["truncated"].reason


def test_a_file_without_the_preamble_is_read(tmp_path):
    row = _rows(1)[0]
    with_preamble = write_file(dataset_for(row), tmp_path / "with.dcm")
    without = write_file(dataset_for(row), tmp_path / "without.dcm", preamble=False)
    assert without.read_bytes()[128:132] != b"DICM" and with_preamble.read_bytes()[128:132] == b"DICM"
    a, b = read_file(str(with_preamble)), read_file(str(without))
    assert a.status == b.status == READ
    assert a.row["ImagePositionPatient"] == b.row["ImagePositionPatient"]


def test_ingest_counts_found_as_read_skipped_failed_and_lists_errors(broken, tmp_path):
    result = ingest([str(broken["valid"].parent)], tmp_path / "out", workers=1)
    assert result.found == result.read + result.skipped + result.failed
    errors = pq.read_table(result.errors_path).to_pylist()
    kinds = {}
    for row in errors:
        kinds.setdefault(row["kind"], set()).add(Path(row["path"]).name)
    assert kinds["duplicate_sop_instance"] == {"valid.dcm", "copy_of_valid.dcm"}  # both files listed
    assert kinds["walk"] == {"x.dcm", "back_to_parent"}
    assert {"truncated.dcm", "zero.dcm", "broken_link.dcm"} <= kinds["failed"]
    assert kinds["not_dicom"] == {"random.dcm", "notes.txt"} and kinds["dicomdir"] == {"DICOMDIR"}
    assert all(row["reason"] for row in errors)


def test_rerun_skips_unchanged_rereads_changed_and_drops_removed(tmp_path):
    folder = tmp_path / "in"
    rows = _rows(6)
    paths = [write_file(dataset_for(r), folder / f"{k}.dcm") for k, r in enumerate(rows)]
    out = tmp_path / "out"
    first = ingest([str(folder)], out, workers=1)
    assert (first.read, first.new, first.files_read_this_run) == (6, 6, 6)

    again = ingest([str(folder)], out, workers=1)
    assert (again.unchanged, again.files_read_this_run, again.rows) == (6, 0, 6)

    changed = dataset_for(dict(rows[0], SliceThickness="9.5"))
    write_file(changed, paths[0])
    os.utime(paths[0], ns=(1, 1))  # a different modification time, whatever the clock
    paths[1].unlink()
    write_file(dataset_for(dict(rows[2], SOPInstanceUID=rows[2]["SOPInstanceUID"] + ".new")), folder / "new.dcm")
    third = ingest([str(folder)], out, workers=1)
    assert (third.unchanged, third.changed, third.new, third.removed) == (4, 1, 1, 1)
    assert third.removed_paths == [str(paths[1])]
    table = pq.read_table(out / "instances").to_pydict()
    assert len(table["source_path"]) == 6 and str(paths[1]) not in table["source_path"]
    assert table["SliceThickness"][table["source_path"].index(str(paths[0]))] == "9.5"


def test_parts_share_one_schema_and_the_output_folder_builds(tmp_path):
    folder = tmp_path / "in"
    rows = _rows(5)
    for k, row in enumerate(rows):
        ds = dataset_for(row, private=k % 2 == 0)
        if k == 3:
            ds.ContrastBolusAgent = "IOPAMIDOL"  # an attribute only one file has
        write_file(ds, folder / f"{k}.dcm")
    result = ingest([str(folder)], tmp_path / "out", workers=1, rows_per_part=2, chunk_files=2)
    parts = sorted((tmp_path / "out" / "instances").glob("*.parquet"))
    assert len(parts) == 3
    schemas = {tuple(pq.read_schema(p).names) for p in parts}
    assert len(schemas) == 1 and "ContrastBolusAgent" in next(iter(schemas))
    # `--instances OUT` is the instances, not the errors and file lists beside them
    assert resolve_instances(str(tmp_path / "out")) == [str(p) for p in parts]
    report = check_instances(str(tmp_path / "out"))
    assert {"KVP", "StudyDate", "OtherElements", "source_path", "instance_size"} <= set(report.extra_columns)
    assert result.columns == len(next(iter(schemas)))


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(IdcQcError, match="no such file or folder"):
        ingest([str(tmp_path / "missing")], tmp_path / "out")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("x")
    with pytest.raises(IdcQcError, match="not an idc-qc ingest output"):
        ingest([str(tmp_path)], tmp_path / "busy")


def test_the_output_folder_as_input_is_refused_and_the_last_run_kept(tmp_path):
    folder = tmp_path / "in"
    for k, row in enumerate(_rows(3)):
        write_file(dataset_for(row), folder / f"{k}.dcm")
    out = tmp_path / "out"
    ingest([str(folder)], out, workers=1)
    kept = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for given in (out, out / "instances"):  # the folder, or a folder inside it
        with pytest.raises(IdcQcError, match="is the output folder --out or inside it"):
            ingest([str(given)], out, workers=1)
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == kept


def test_multi_frame_objects_get_one_frame_row_each(tmp_path):
    """An enhanced CT made by highdicom's legacy converter from single-frame slices: the frames
    table holds each slice's position, orientation and spacing, resolved from the per-frame
    and shared functional groups."""
    legacy = pytest.importorskip("highdicom.legacy")
    from pydicom.uid import generate_uid

    rows = series_rows(SeriesSpec(uid="1.2.826.0.1.3680043.8.498.27.1", n=5, rows=16, columns=16,
                                  faults={"missing": 1}))
    slices = [dataset_for(row, pixels=16 * 16 * 2, private=False) for row in rows]
    enhanced = legacy.LegacyConvertedEnhancedCTImage(slices, series_instance_uid=generate_uid(), series_number=1,
                                                     sop_instance_uid=generate_uid(), instance_number=1)
    (tmp_path / "in").mkdir()
    enhanced.save_as(tmp_path / "in" / "enhanced.dcm")
    result = ingest([str(tmp_path / "in")], tmp_path / "out", workers=1)
    assert result.read == 1
    frames = pq.ParquetFile(next((tmp_path / "out" / "frames").glob("*.parquet"))).read().to_pylist()
    assert [f["frame_number"] for f in frames] == [1, 2, 3, 4]
    by_position = sorted(f["ImagePositionPatient"] for f in frames)
    assert by_position == sorted(row["ImagePositionPatient"] for row in rows)
    assert all(f["ImageOrientationPatient"] == rows[0]["ImageOrientationPatient"] for f in frames)  # shared group
    assert all(f["PixelSpacing"] == rows[0]["PixelSpacing"] and f["SliceThickness"] == "2.5" for f in frames)
    instance = pq.ParquetFile(next((tmp_path / "out" / "instances").glob("*.parquet"))).read().to_pylist()[0]
    assert instance["NumberOfFrames"] == "4" and instance["SOPInstanceUID"] == frames[0]["SOPInstanceUID"]


def test_a_build_reads_the_frames_of_exactly_the_instance_files_it_reads(tmp_path):
    """The frames table's parts go to the build with the instance parts they belong to, whether
    --instances names the ingest folder, its instances/ folder or one part; a part copied away from
    its ingest folder, or any other parquet, brings no frames."""
    from highdicom.legacy import LegacyConvertedEnhancedCTImage
    from pydicom.uid import generate_uid

    from idc_qc.instances.files import frame_files

    rows = series_rows(SeriesSpec(uid="1.2.826.0.1.3680043.8.498.27.2", n=3, rows=16, columns=16))
    slices = [dataset_for(row, pixels=16 * 16 * 2, private=False) for row in rows]
    enhanced = LegacyConvertedEnhancedCTImage(slices, series_instance_uid=generate_uid(), series_number=1,
                                              sop_instance_uid=generate_uid(), instance_number=1)
    (tmp_path / "in").mkdir()
    enhanced.save_as(tmp_path / "in" / "enhanced.dcm")
    out = tmp_path / "out"
    ingest([str(tmp_path / "in")], out, workers=1)
    (part,) = sorted((out / "instances").glob("*.parquet"))
    frames = [str(out / "frames" / part.name)]
    assert Path(frames[0]).is_file()
    assert frame_files(resolve_instances(str(out))) == frames
    assert frame_files(resolve_instances(str(out / "instances"))) == frames
    assert frame_files([str(part)]) == frames
    shutil.copy(part, tmp_path / "copied.parquet")
    assert frame_files(resolve_instances(str(tmp_path / "copied.parquet"))) == []
    (out / "frames" / part.name).unlink()  # a part without multi-frame objects has no frames part
    assert frame_files([str(part)]) == []


def test_provenance_of_an_ingest_output_names_the_files(tmp_path):
    from idc_qc.provenance import detect_input

    write_file(dataset_for(_rows(1)[0]), tmp_path / "in" / "one.dcm")
    ingest([str(tmp_path / "in")], tmp_path / "out", workers=1)
    provenance = detect_input(resolve_instances(str(tmp_path / "out")))
    assert provenance.kind == "dicom" and not provenance.is_synthetic
    assert provenance.detail.startswith(f"DICOM files read by idc-qc ingest from {tmp_path / 'in'} (1 files read")


def test_reading_processes_write_the_parts_of_the_rows_they_read(tmp_path):
    folder = tmp_path / "in"
    rows = _rows(11)
    for k, row in enumerate(rows):
        ds = dataset_for(row)
        if k == 7:
            ds.ContrastBolusAgent = "IOPAMIDOL"  # a column only one process's part has until the parts are unified
        write_file(ds, folder / f"{k:02d}.dcm")
    shutil.copy(folder / "03.dcm", folder / "copy_of_03.dcm")  # a SOPInstanceUID in two files
    out = tmp_path / "out"
    result = ingest([str(folder)], out, workers=2, rows_per_part=3, chunk_files=2)
    assert (result.found, result.read, result.rows, result.duplicate_instances) == (12, 12, 12, 1)
    parts = sorted((out / "instances").glob("*.parquet"))
    assert len(parts) >= 3 and len({tuple(pq.read_schema(p).names) for p in parts}) == 1
    holder = {path: part.name for part in parts for path in pq.read_table(part, columns=["source_path"]).column(0)
              .to_pylist()}
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert {f["path"]: f["part"] for f in files} == holder  # every file's record names the part holding its row
    assert sorted(holder) == sorted(str(p) for p in folder.iterdir())
    errors = pq.read_table(result.errors_path).to_pylist()

    again = ingest([str(folder)], out, workers=2, rows_per_part=3, chunk_files=2)  # nothing changed
    assert (again.files_read_this_run, again.rows, again.duplicate_instances, again.columns) == (
        0, 12, 1, result.columns)
    assert pq.read_table(again.errors_path).to_pylist() == errors
    assert sorted((out / "instances").glob("*.parquet")) == parts


@pytest.mark.skipif(os.name != "posix", reason="the reading processes are forked, and inherit the broken reader")
def test_a_reading_process_that_dies_or_fails_stops_the_run_and_the_next_run_reads_again(tmp_path, monkeypatch):
    import idc_qc.ingest.run as run

    folder = tmp_path / "in"
    for k, row in enumerate(_rows(8)):
        write_file(dataset_for(row), folder / f"{k}.dcm")
    out = tmp_path / "out"
    read_chunk = run._read_chunk

    def kill(code: int):
        def act():
            os._exit(code)
        return act

    def bug():
        raise KeyError("a bug in the reader")

    breaks = [  # what the process reading file 5 does, and what the run must say
        (kill(3), IdcQcError, r"a reading process stopped \(exit code 3"),  # as the kernel kills it for memory
        (kill(0), IdcQcError, r"a reading process stopped \(exit code 0"),  # ended without saying it was done
        (bug, RuntimeError, "(?s)a reading process failed.*KeyError: 'a bug in the reader'"),
    ]
    for act, error, message in breaks:
        def broken_on_file_5(chunk, collection, act=act):
            if any(path.endswith("5.dcm") for path, _ in chunk):
                act()
            return read_chunk(chunk, collection)

        monkeypatch.setattr(run, "_read_chunk", broken_on_file_5)
        with pytest.raises(error, match=message):
            ingest([str(folder)], out, workers=2, rows_per_part=2, chunk_files=1)

    monkeypatch.setattr(run, "_read_chunk", read_chunk)
    result = ingest([str(folder)], out, workers=2, rows_per_part=2, chunk_files=1)
    assert (result.new, result.read, result.rows) == (8, 8, 8)  # the parts the stopped runs wrote are gone
    assert sorted(pq.read_table(out / "instances", columns=["source_path"]).column(0).to_pylist()) == sorted(
        str(p) for p in folder.iterdir())


def test_a_part_is_written_sooner_when_its_rows_are_large(tmp_path, monkeypatch):
    import idc_qc.ingest.run as run

    folder = tmp_path / "in"
    for k, row in enumerate(_rows(6)):
        write_file(dataset_for(row, private=True), folder / f"{k}.dcm")
    one_file = ingest([str(folder / "0.dcm")], tmp_path / "one", workers=1).rows
    assert one_file == 1
    row_bytes = pq.read_table(tmp_path / "one" / "instances").nbytes
    monkeypatch.setattr(run, "BYTES_PER_PART", row_bytes * 2)  # about two rows in memory
    result = ingest([str(folder)], tmp_path / "out", workers=1, chunk_files=1)  # 10,000 rows a part otherwise
    sizes = sorted(pq.ParquetFile(p).metadata.num_rows for p in (tmp_path / "out" / "instances").glob("*.parquet"))
    assert result.rows == 6 and sum(sizes) == 6 and len(sizes) >= 2 and max(sizes) <= 3


def test_ctrl_c_while_processes_read_stops_them_and_the_next_run_reads_every_file_once(tmp_path):
    import multiprocessing

    folder = tmp_path / "in"
    for k, row in enumerate(_rows(12)):
        write_file(dataset_for(row), folder / f"{k:02d}.dcm")
    out = tmp_path / "out"

    def interrupt_after_three(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt  # as Ctrl-C arrives while the command waits on its readers

    with pytest.raises(KeyboardInterrupt):
        ingest([str(folder)], out, workers=2, rows_per_part=2, chunk_files=1, progress=interrupt_after_three)
    assert multiprocessing.active_children() == []  # both readers ended, none left behind
    result = ingest([str(folder)], out, workers=2, rows_per_part=2, chunk_files=1)
    assert (result.new, result.read, result.rows, result.duplicate_instances) == (12, 12, 12, 0)
