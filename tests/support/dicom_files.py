"""DICOM files written with pydicom for the ingest tests: series of known geometry and broken files.

The series come from :mod:`support.geometry` (the same positions, orientations and faults the
geometry tests use in parquet), each row written as one CT Image Storage file, so that a round
trip files -> ingest -> build must give the verdicts those rows were written to have.
"""

from __future__ import annotations

import os
from pathlib import Path

from support.geometry import SeriesSpec, series_rows

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"

#: One series per geometry fault, with the reason (seeds/geometry_reasons.csv) each must get.
FAULT_SERIES = {
    "regular": ({}, None),
    "missing_slice": ({"missing": 1}, "missing_slices"),
    "duplicate_position": ({"duplicate": 1}, "duplicate_slice_positions"),
    "non_uniform_spacing": ({"nonuniform": 1}, "non_uniform_slice_spacing"),
    "mixed_orientation": ({"orientation": 5}, "multiple_orientations"),
    "gantry_tilt": ({"tilt": 15}, "gantry_tilt"),
}


def series_uid(name: str) -> str:
    return "1.2.826.0.1.3680043.8.498.25." + str(list(FAULT_SERIES).index(name) + 1)


def dataset_for(row: dict, *, pixels: int | None = None, private: bool = True):
    """A CT Image Storage data set holding ``row``'s attributes (a dicom_all-shaped row)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = row["ImageType"]
    ds.SOPClassUID = row["SOPClassUID"]
    ds.SOPInstanceUID = row["SOPInstanceUID"]
    ds.StudyDate = "20240131"
    ds.StudyTime = "101500"
    ds.Modality = row["Modality"]
    ds.Manufacturer = "idc-qc tests"
    ds.StudyDescription = "ingest round trip"
    ds.SeriesDescription = "CT " + row["SeriesInstanceUID"].rsplit(".", 1)[-1]
    ds.PatientName = "Test^Ingest"
    ds.PatientID = row["PatientID"]
    ds.PatientAge = "061Y"
    ds.PatientSex = "F"
    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = row["SliceThickness"]
    ds.KVP = "120"
    ds.GantryDetectorTilt = row.get("GantryDetectorTilt") or "0"
    ds.StudyInstanceUID = row["StudyInstanceUID"].replace(".study", ".9")  # a valid UI value, as a scanner writes
    ds.SeriesInstanceUID = row["SeriesInstanceUID"]
    ds.SeriesNumber = "1"
    ds.InstanceNumber = row["InstanceNumber"]
    ds.ImagePositionPatient = row["ImagePositionPatient"]
    ds.ImageOrientationPatient = row["ImageOrientationPatient"]
    ds.FrameOfReferenceUID = row["SeriesInstanceUID"] + ".1"
    ds.Rows = row["Rows"]
    ds.Columns = row["Columns"]
    ds.PixelSpacing = row["PixelSpacing"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    code = Dataset()
    code.CodeValue = "113691"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "IEC Body Dosimetry Phantom"
    ds.CTDIPhantomTypeCodeSequence = Sequence([code])
    if private:
        block = ds.private_block(0x0019, "IDC-QC TESTS", create=True)
        block.add_new(0x10, "LO", "private value")
        block.add_new(0x11, "DS", ["1.5", "2.5"])
    if pixels is not None:
        ds.PixelData = os.urandom(pixels) if pixels else b""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = EXPLICIT_VR_LITTLE_ENDIAN
    ds.file_meta = meta
    return ds


def write_file(ds, path: Path, *, preamble: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        ds.preamble = None
        ds.save_as(path, enforce_file_format=False, implicit_vr=False, little_endian=True)
    return path


def write_fault_series(folder: Path, *, n: int = 12, size: int = 32, pixels: bool = True) -> dict[str, list[Path]]:
    """One folder per series of :data:`FAULT_SERIES`; returns name -> files."""
    written: dict[str, list[Path]] = {}
    for name, (faults, _) in FAULT_SERIES.items():
        spec = SeriesSpec(uid=series_uid(name), n=n, spacing=2.5, rows=size, columns=size, faults=faults)
        files = []
        for k, row in enumerate(series_rows(spec)):
            ds = dataset_for(row, pixels=size * size * 2 if pixels else None)
            files.append(write_file(ds, folder / name / f"{k:04d}.dcm", preamble=k % 4 != 3))
        written[name] = files
    return written


def write_broken_files(folder: Path, valid_row: dict) -> dict[str, Path]:
    """Every kind of bad input the ingest must classify, never stop on; returns case -> path.

    truncated (the header cut), zero bytes, random bytes, a text file, a folder named x.dcm
    holding a valid file, a symlink loop, a broken link, an unreadable file (mode 000), a
    DICOMDIR, and the same SOPInstanceUID in two files.
    """
    import random

    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Path] = {}
    full = folder / "valid.dcm"
    write_file(dataset_for(valid_row, pixels=64), full)
    cases["valid"] = full
    data = full.read_bytes()
    (folder / "truncated.dcm").write_bytes(data[:300])
    cases["truncated"] = folder / "truncated.dcm"
    (folder / "zero.dcm").write_bytes(b"")
    cases["zero_bytes"] = folder / "zero.dcm"
    rng = random.Random(7)
    (folder / "random.dcm").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    cases["random_bytes"] = folder / "random.dcm"
    (folder / "notes.txt").write_text("not DICOM at all\n")
    cases["text"] = folder / "notes.txt"
    inner = folder / "x.dcm"
    inner.mkdir()
    write_file(dataset_for(dict(valid_row, SOPInstanceUID=valid_row["SOPInstanceUID"] + ".9"), pixels=64),
               inner / "inside.dcm")
    cases["folder_named_dcm"] = inner
    loop = folder / "loop"
    loop.mkdir()
    os.symlink("..", loop / "back_to_parent")
    cases["symlink_loop"] = loop / "back_to_parent"
    os.symlink("does-not-exist.dcm", folder / "broken_link.dcm")
    cases["broken_link"] = folder / "broken_link.dcm"
    locked = folder / "locked.dcm"
    write_file(dataset_for(dict(valid_row, SOPInstanceUID=valid_row["SOPInstanceUID"] + ".8"), pixels=64), locked)
    locked.chmod(0)
    cases["unreadable"] = locked
    dicomdir = folder / "DICOMDIR"
    dicomdir.write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    cases["dicomdir"] = dicomdir
    copy = folder / "copy_of_valid.dcm"
    copy.write_bytes(data)
    cases["duplicate"] = copy
    return cases


def enhanced_uid(name: str) -> str:
    """The SeriesInstanceUID of the enhanced CT object written for fault ``name`` (its
    SOPInstanceUID is this plus ``.1``)."""
    return "1.2.826.0.1.3680043.8.498.29." + str(list(FAULT_SERIES).index(name) + 1)


def write_enhanced_fault_objects(folder: Path, *, n: int = 12, size: int = 16) -> dict[str, Path]:
    """One enhanced CT object per series of :data:`FAULT_SERIES`: the same slices as
    :func:`write_fault_series` writes, made one multi-frame object by highdicom's legacy
    converter (each slice a frame, its position in the Per-frame Functional Groups Sequence).
    The geometry must judge each with the reason its single-frame twin gets. Needs highdicom."""
    from highdicom.legacy import LegacyConvertedEnhancedCTImage

    written: dict[str, Path] = {}
    for name, (faults, _) in FAULT_SERIES.items():
        uid = enhanced_uid(name)
        spec = SeriesSpec(uid=uid, n=n, spacing=2.5, rows=size, columns=size, faults=faults)
        slices = [dataset_for(row, pixels=size * size * 2, private=False) for row in series_rows(spec)]
        enhanced = LegacyConvertedEnhancedCTImage(slices, series_instance_uid=uid, series_number=1,
                                                  sop_instance_uid=uid + ".1", instance_number=1)
        path = folder / f"{name}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        enhanced.save_as(path)
        written[name] = path
    return written


#: A small CT series and a SEG of it (highdicom), for IDC's seg_index.sql on ingested files.
SEGMENTED_UID = "1.2.826.0.1.3680043.8.498.30.1"
SEGMENTATION_UID = "1.2.826.0.1.3680043.8.498.30.2"


def write_segmentation(folder: Path, *, n: int = 4, size: int = 16) -> list[Path]:
    """A CT series of ``n`` slices (files) and a binary SEG of it made by highdicom (one segment,
    'Neoplasm', on two slices): a real multi-frame SEG object. Needs highdicom."""
    import highdicom as hd
    import numpy as np
    from pydicom.sr.codedict import codes

    rows = series_rows(SeriesSpec(uid=SEGMENTED_UID, n=n, spacing=2.5, rows=size, columns=size))
    slices = [dataset_for(row, pixels=size * size * 2, private=False) for row in rows]
    for ds in slices:  # attributes highdicom copies from its source images
        ds.PatientBirthDate, ds.ReferringPhysicianName, ds.StudyID, ds.AccessionNumber = "", "", "1", ""
    mask = np.zeros((n, size, size), dtype=bool)
    mask[1:3, 4:10, 4:10] = True
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="lesion",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=slices, pixel_array=mask, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment], series_instance_uid=SEGMENTATION_UID, series_number=2,
        sop_instance_uid=SEGMENTATION_UID + ".1", instance_number=1, manufacturer="idc-qc tests",
        manufacturer_model_name="tests", software_versions="0", device_serial_number="1")
    written = [write_file(ds, folder / f"ct{k}.dcm") for k, ds in enumerate(slices)]
    folder.mkdir(parents=True, exist_ok=True)
    seg.save_as(folder / "seg.dcm")
    return [*written, folder / "seg.dcm"]


#: United Imaging grids (UIH's mosaic) and their controls: name -> (SeriesInstanceUID, files).
UIH_SERIES = {
    # four time points of one 16-slice volume, each file a 4 x 4 grid of 8 x 8 tiles: a mosaic
    "uih_grid": ("1.2.826.0.1.3680043.8.498.31.1", 4),
    # UIH slices without a grid element: a plain regular volume
    "uih_plain": ("1.2.826.0.1.3680043.8.498.31.2", 6),
    # the grid element from another maker: dcm2niix reads it for UIH only, so neither do we
    "grid_tag_not_uih": ("1.2.826.0.1.3680043.8.498.31.3", 6),
}
UIH_IMAGES_IN_GRID = 16
UIH_TILE = 8


def write_uih_grids(folder: Path) -> dict[str, list[Path]]:
    """The series of :data:`UIH_SERIES` as MR files: a UIH grid carries NumberOfImagesInGrid in
    the private element (0065,1050) (private creator "Image Private Header"), its Rows and
    Columns the whole grid, as dcm2niix reads it (nii_dicom.cpp, kNumberOfImagesInGridUIH)."""
    mr = "1.2.840.10008.5.1.4.1.1.4"
    written: dict[str, list[Path]] = {}
    for name, (uid, n) in UIH_SERIES.items():
        grid = name != "uih_plain"
        size = UIH_TILE * 4 if name == "uih_grid" else 16
        rows = series_rows(SeriesSpec(uid=uid, n=n, rows=size, columns=size, sop_class=mr, modality="MR"))
        files = []
        for k, row in enumerate(rows):
            if name == "uih_grid":  # time points: every grid at the volume's position
                row = {**row, "ImagePositionPatient": rows[0]["ImagePositionPatient"]}
            ds = dataset_for(row, pixels=size * size * 2, private=False)
            ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NORM"]
            ds.Manufacturer = "idc-qc tests" if name == "grid_tag_not_uih" else "UIH"
            ds.SeriesDescription = name
            if grid:
                block = ds.private_block(0x0065, "Image Private Header", create=True)
                block.add_new(0x50, "DS", str(UIH_IMAGES_IN_GRID))
            files.append(write_file(ds, folder / name / f"{k:04d}.dcm"))
        written[name] = files
    return written
