"""Benchmark `idc-qc ingest URL` (DICOMweb) against a plain sequential loop, on a real local Orthanc.

Writes ``--series`` x ``--per-series`` synthetic CT headers with pydicom (about 70 attributes,
a code sequence and private elements each, a 16 x 16 pixel matrix), starts Orthanc with its
DICOMweb plugin on loopback (tests/support/orthanc.py; Debian's orthanc and orthanc-dicomweb),
loads them through its REST API, then runs, each in its own process:

1. ``idc-qc ingest URL --all --workers N`` (QIDO-RS listing, WADO-RS series metadata with N
   parallel requests, rows to parquet);
2. a plain sequential loop: one QIDO-RS listing, then one httpx request per series' metadata,
   each instance converted by the same function (idc_qc.ingest.dicomweb_json.instance_row), rows
   kept in memory, nothing written;
3. ``idc-qc ingest`` again with nothing new (the incremental rerun).

It prints instances per second (wall time of the process, and of the ingest itself from its
manifest), CPU seconds and the peak resident memory of each process; the target of issue 21:
the ingest at least 3x the sequential loop, peak memory under 1 GB.

    python benchmarks/bench_dicomweb.py                          # 20 series x 150 instances
    python benchmarks/bench_dicomweb.py --series 40 --per-series 100 --workers 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import CPU, measure  # noqa: E402 - the benchmarks folder is put on the path just above


def write_series(folder: Path, series: int, per_series: int) -> list[Path]:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    paths = []
    for s in range(series):
        study, uid, frame = generate_uid(), generate_uid(), generate_uid()
        for k in range(per_series):
            ds = Dataset()
            ds.SpecificCharacterSet = "ISO_IR 100"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
            ds.SOPInstanceUID = generate_uid()
            ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20240131"
            ds.StudyTime = ds.SeriesTime = "101500"
            ds.AcquisitionTime = ds.ContentTime = "101512.123000"
            ds.AccessionNumber = f"ACC{s:05d}"
            ds.Modality = "CT"
            ds.Manufacturer, ds.ManufacturerModelName = "idc-qc bench", "Model 9"
            ds.InstitutionName = "Benchmark Hospital"
            ds.ReferringPhysicianName = "Doe^Jane"
            ds.StudyDescription, ds.SeriesDescription = "CHEST W/O", "AXIAL 2.5 mm"
            ds.PatientName, ds.PatientID = f"Bench^{s}", f"P{s:05d}"
            ds.PatientBirthDate, ds.PatientSex, ds.PatientAge = "19600101", "F", "064Y"
            ds.BodyPartExamined = "CHEST"
            ds.SliceThickness, ds.KVP = "2.5", "120"
            ds.DataCollectionDiameter, ds.ReconstructionDiameter = "500", "360"
            ds.GantryDetectorTilt, ds.TableHeight = "0", "160.5"
            ds.RotationDirection, ds.ExposureTime, ds.XRayTubeCurrent, ds.Exposure = "CW", "500", "300", "150"
            ds.FilterType, ds.GeneratorPower, ds.FocalSpots = "BODY", "36000", "1.2"
            ds.ConvolutionKernel, ds.PatientPosition = "STANDARD", "FFS"
            ds.SpiralPitchFactor = 0.984375
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, uid, frame
            ds.StudyID, ds.SeriesNumber, ds.AcquisitionNumber, ds.InstanceNumber = "1", "2", "1", str(k + 1)
            ds.ImagePositionPatient = ["-175.5", "-180.25", f"{-k * 2.5:.1f}"]
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            ds.PositionReferenceIndicator, ds.SliceLocation = "SN", f"{-k * 2.5:.1f}"
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.Rows = ds.Columns = 16
            ds.PixelSpacing = ["0.703125", "0.703125"]
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.WindowCenter, ds.WindowWidth = ["40", "400"], ["400", "1500"]
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
            code = Dataset()
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "113691", "DCM", "IEC Body Dosimetry Phantom"
            ds.CTDIPhantomTypeCodeSequence = Sequence([code])
            ds.CTDIvol = 12.5
            block = ds.private_block(0x0019, "IDC-QC BENCH", create=True)
            block.add_new(0x10, "LO", "private value")
            block.add_new(0x11, "DS", ["1.5", "2.5"])
            ds.PixelData = bytes(16 * 16 * 2)
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta = meta
            path = folder / f"s{s:04d}" / f"{k:05d}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


SEQUENTIAL_LOOP = """
import os, sys, time, httpx
from idc_qc.ingest.dicomweb_json import instance_row
base = sys.argv[1]
started = time.perf_counter()
auth = (os.environ["IDC_QC_DICOMWEB_USER"], os.environ["IDC_QC_DICOMWEB_PASSWORD"])
with httpx.Client(auth=auth, timeout=60, headers={"Accept": "application/dicom+json"}) as client:
    listed = client.get(base + "/series", params={"limit": 100000}).json()
    rows = []
    for item in listed:
        study, series = item["0020000D"]["Value"][0], item["0020000E"]["Value"][0]
        for instance in client.get(f"{base}/studies/{study}/series/{series}/metadata").json():
            rows.append(instance_row(instance)[0])
print(len(rows), time.perf_counter() - started)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--per-series", type=int, default=150)
    parser.add_argument("--workers", type=int, default=4, help="parallel requests of idc-qc ingest")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed)")
    args = parser.parse_args()

    from support.orthanc import Orthanc, require  # tests/support: the same server the tests start

    try:
        require()
    except BaseException as exc:  # noqa: BLE001 - pytest.skip raises a BaseException: say what to install
        print(f"cannot run: {exc}")
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_dicomweb_"))
    total = args.series * args.per_series
    t = time.perf_counter()
    files = write_series(work / "files", args.series, args.per_series)
    print(f"wrote {len(files):,} files ({args.series} series x {args.per_series}) in {time.perf_counter() - t:.1f}s")
    orthanc = Orthanc(work / "orthanc").start()
    try:
        from concurrent.futures import ThreadPoolExecutor

        t = time.perf_counter()
        chunks = [files[i::4] for i in range(4)]
        with ThreadPoolExecutor(4) as pool:
            assert sum(pool.map(orthanc.upload, chunks)) == total
        print(f"loaded them into Orthanc ({orthanc.url}) in {time.perf_counter() - t:.1f}s; {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.2f}")
        env = {**os.environ, **orthanc.env(), "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        out = work / "out"
        ingest_cmd = [sys.executable, "-m", "idc_qc.cli", "ingest", orthanc.dicomweb, "--all", "-o", str(out),
                      "--workers", str(args.workers)]
        loop_cmd = [sys.executable, "-c", SEQUENTIAL_LOOP, orthanc.dicomweb]

        loop_s, loop_mb, loop = measure(loop_cmd, env)
        assert loop.returncode == 0, loop.stderr
        loop_rows, loop_inner = loop.stdout.split()
        assert int(loop_rows) == total, loop.stdout
        ingest_s, ingest_mb, run = measure(ingest_cmd, env)
        assert run.returncode == 0, run.stderr
        manifest = json.loads((out / "ingest_manifest.json").read_text())
        assert manifest["counts"]["instance_rows"] == total, manifest["counts"]
        inner = float(manifest["seconds"])
        ingest_cpu = CPU[tuple(ingest_cmd)]
        rerun_s, rerun_mb, rerun = measure(ingest_cmd, env)
        assert rerun.returncode == 0 and "this run read 0" in " ".join(rerun.stderr.split()), rerun.stderr

        print(f"\n{'':38} {'wall s':>7} {'inst/s':>8} {'inner s':>8} {'inst/s':>8} {'CPU s':>6} {'peak MB':>8}")
        rows = [(f"idc-qc ingest URL --workers {args.workers}", ingest_s, inner, ingest_cpu, ingest_mb),
                ("sequential loop (httpx, same parsing)", loop_s, float(loop_inner), CPU[tuple(loop_cmd)], loop_mb)]
        for name, wall, inside, cpu, mb in rows:
            print(f"{name:38} {wall:7.2f} {total / wall:8,.0f} {inside:8.2f} {total / inside:8,.0f} {cpu:6.1f} {mb:8,.0f}")
        print(f"{'rerun, nothing new':38} {rerun_s:7.2f} {'':8} {'':8} {'':8} {CPU[tuple(ingest_cmd)]:6.1f} "
              f"{rerun_mb:8,.0f}")
        speed = (total / inner) / (total / float(loop_inner))
        print(f"\nidc-qc / sequential loop: {speed:.2f}x inside the process ({loop_s / ingest_s:.2f}x wall, "
              f"start-up included); target 3x. Peak memory {max(ingest_mb, loop_mb):,.0f} MB; target under 1,000 MB.")
    finally:
        orthanc.stop()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
