"""Benchmark `idc-qc ingest` against a plain pydicom loop and dcm2niix over realistic CT files.

Writes (or takes, --folder) a folder of CT Image Storage files of about 0.5 MB each (a
512 x 512 16-bit pixel matrix on disk, so a reader must skip it, and ~120 header attributes
with sequences and private elements, as a real scanner writes), then runs, each in its own
process tree, after one unmeasured pass that puts the files in the page cache:

1. ``idc-qc ingest`` with --workers (2 by default);
2. a plain one-process loop, ``pydicom.dcmread(path, stop_before_pixels=True)`` per file;
3. ``dcm2niix -n -1`` listing the same folder's series (skipped, with a note, if not installed);
4. ``idc-qc ingest`` again with nothing changed (the incremental rerun).

It prints files per second and the peak memory of each process tree (the sum of every
process's resident memory, sampled every 20 ms), and the targets of issue 25: ingest at least
1.8x the plain loop with two processes, peak memory under 1 GB, a rerun under 5% of the first.

    python benchmarks/bench_ingest.py --files 2000            # writes build/bench_ingest/files
    python benchmarks/bench_ingest.py --folder /data/dicom --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_files(folder: Path, count: int, per_series: int = 250) -> None:
    """``count`` CT files of ~0.5 MB in series folders of ``per_series`` slices."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4096, size=(512, 512), dtype=np.uint16).tobytes()
    folder.mkdir(parents=True, exist_ok=True)
    study = generate_uid()
    series = None
    for k in range(count):
        if k % per_series == 0:
            series = generate_uid()
            frame_of_reference = generate_uid()
        slice_index = k % per_series
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "CT_SOM5 SPI"]
        ds.InstanceCreationDate, ds.InstanceCreationTime = "20240131", "101512.123000"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = generate_uid()
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20240131"
        ds.StudyTime = ds.SeriesTime = "101500"
        ds.AcquisitionTime = ds.ContentTime = "101512.123000"
        ds.AccessionNumber = "A12345"
        ds.Modality = "CT"
        ds.Manufacturer, ds.ManufacturerModelName = "SIEMENS", "SOMATOM Definition Edge"
        ds.InstitutionName = "Benchmark Hospital"
        ds.ReferringPhysicianName = "Doe^John"
        ds.StationName = "CT01"
        ds.StudyDescription, ds.SeriesDescription = "CT CHEST W CONTRAST", "Thorax 1.0 Br40 3"
        ds.PatientName, ds.PatientID = "Bench^Patient", f"P{k // (per_series * 4):05d}"
        ds.PatientBirthDate, ds.PatientSex, ds.PatientAge = "19600101", "F", "064Y"
        ds.PatientWeight = "70"
        ds.BodyPartExamined = "CHEST"
        ds.ScanOptions = "HELICAL MODE"
        ds.SliceThickness = "1.0"
        ds.KVP = "120"
        ds.DataCollectionDiameter = "500"
        ds.SoftwareVersions = "syngo CT VA48A"
        ds.ProtocolName = "Thorax"
        ds.ReconstructionDiameter = "350"
        ds.DistanceSourceToDetector, ds.DistanceSourceToPatient = "1085.6", "595"
        ds.GantryDetectorTilt = "0"
        ds.TableHeight = "155"
        ds.RotationDirection = "CW"
        ds.ExposureTime, ds.XRayTubeCurrent, ds.Exposure = "500", "200", "100"
        ds.FilterType = "FLAT"
        ds.GeneratorPower = "24"
        ds.FocalSpots = "1.2"
        ds.ConvolutionKernel = ["Br40d", "3"]
        ds.PatientPosition = "HFS"
        ds.SpiralPitchFactor = 0.8
        ds.CTDIvol = 6.5
        phantom = Dataset()
        phantom.CodeValue, phantom.CodingSchemeDesignator = "113691", "DCM"
        phantom.CodeMeaning = "IEC Body Dosimetry Phantom"
        ds.CTDIPhantomTypeCodeSequence = Sequence([phantom])
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.StudyID, ds.SeriesNumber, ds.AcquisitionNumber = "1", "3", "2"
        ds.InstanceNumber = str(slice_index + 1)
        ds.ImagePositionPatient = ["-175.0", "-175.0", f"{-slice_index * 1.0:.1f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = f"{-slice_index * 1.0:.1f}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = 512
        ds.PixelSpacing = ["0.68359375", "0.68359375"]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.WindowCenter, ds.WindowWidth = ["40", "-600"], ["400", "1200"]
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
        ref = Dataset()
        ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ref.ReferencedSOPInstanceUID = generate_uid()
        ds.ReferencedImageSequence = Sequence([ref])
        block = ds.private_block(0x0019, "SIEMENS CT VA0  COAD", create=True)
        for element in range(0x10, 0x30):
            block.add_new(element, "DS", f"{element * 1.5:.3f}")
        block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
        block.add_new(0x08, "CS", "IMAGE NUM 4")
        block.add_new(0x10, "OB", os.urandom(6000))  # a CSA-sized binary blob
        ds.PixelData = pixels
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        target = folder / f"series_{k // per_series:03d}" / f"{slice_index:04d}.dcm"
        target.parent.mkdir(exist_ok=True)
        ds.save_as(target, enforce_file_format=True)


def measure(command: list[str], env: dict | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """(seconds, peak MB of the process tree, result) of running ``command``: the seconds end when
    the process does (a thread samples the memory, every 20 ms, while this one waits)."""
    import resource
    import threading

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    ended = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            parent = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not ended.is_set():
            total = 0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            ended.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    ended.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU[tuple(command)] = cpu
    return seconds, peak / 1e6, subprocess.CompletedProcess(command, proc.returncode, out, err)


#: CPU seconds (user + system, the whole process tree) of each measured command
CPU: dict[tuple, float] = {}


def _manifest_seconds(out: Path) -> float:
    import json

    return float(json.loads((out / "ingest_manifest.json").read_text())["seconds"])


PLAIN_LOOP = """
import sys, pydicom
paths = [line.rstrip("\\n") for line in open(sys.argv[1])]
for path in paths:
    pydicom.dcmread(path, stop_before_pixels=True)
print(len(paths))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="files to write (when --folder is not given)")
    parser.add_argument("--folder", type=Path, help="an existing folder of DICOM files to read instead")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench_ingest", help="scratch folder")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every reader; the figures are medians")
    args = parser.parse_args()

    folder = args.folder
    if folder is None:
        folder = args.work / f"files_{args.files}"
        if not folder.is_dir() or sum(1 for _ in folder.rglob("*.dcm")) != args.files:
            shutil.rmtree(folder, ignore_errors=True)
            t = time.perf_counter()
            write_files(folder, args.files)
            print(f"wrote {args.files:,} files to {folder} in {time.perf_counter() - t:.1f}s")
    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    size_mb = sum(os.path.getsize(p) for p in paths) / 1e6
    print(f"{len(paths):,} files, {size_mb:,.0f} MB ({size_mb / len(paths):.2f} MB each); "
          f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    listing = args.work / "paths.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("\n".join(paths) + "\n")
    for path in paths:  # warm the page cache: every reader below sees the same warm files
        with open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "DO_NOT_TRACK": "1"}
    out = args.work / "ingest_out"
    ingest = [sys.executable, "-m", "idc_qc.cli", "ingest", str(folder), "-o", str(out), "--workers", str(args.workers)]
    plain = [sys.executable, "-c", PLAIN_LOOP, str(listing)]
    dcm2niix = shutil.which("dcm2niix") or (str(Path(sys.executable).parent / "dcm2niix")
                                            if (Path(sys.executable).parent / "dcm2niix").exists() else None)
    if not dcm2niix:
        print("note: dcm2niix is not installed (pip install dcm2niix): its row is skipped")
    # every reader runs --repeat times, in turn (a first run, the plain loop, dcm2niix, a rerun), so
    # that a burst of load on a shared machine falls on one round; each row is the round's median
    rounds: dict[str, list[tuple[float, float, float]]] = {}
    inside_first, inside_rerun = [], []
    for _ in range(args.repeat):
        shutil.rmtree(out, ignore_errors=True)
        seconds, peak, run = measure(ingest, env)
        if run.returncode:
            print(run.stderr)
            return 2
        rounds.setdefault(f"idc-qc ingest ({args.workers} processes)", []).append((seconds, peak, CPU[tuple(ingest)]))
        inside_first.append(_manifest_seconds(out))
        seconds, peak, run = measure(plain, env)
        rounds.setdefault("plain pydicom loop (1 process)", []).append((seconds, peak, CPU[tuple(plain)]))
        if dcm2niix:
            with tempfile.TemporaryDirectory() as tmp:
                listing_command = [dcm2niix, "-n", "-1", "-o", tmp, str(folder)]
                seconds, peak, run = measure(listing_command)
            rounds.setdefault("dcm2niix -n -1 (list series)", []).append(
                (seconds, peak, CPU[tuple(listing_command)]))
        seconds, peak, run = measure(ingest, env)
        if run.returncode:
            print(run.stderr)
            return 2
        rounds.setdefault("idc-qc ingest, rerun, nothing changed", []).append((seconds, peak, CPU[tuple(ingest)]))
        inside_rerun.append(_manifest_seconds(out))
    results = [(name, statistics.median(r[0] for r in runs), max(r[1] for r in runs),
                statistics.median(r[2] for r in runs)) for name, runs in rounds.items()]
    inside_first_s, inside_rerun_s = statistics.median(inside_first), statistics.median(inside_rerun)

    print(f"\nmedian of {args.repeat} rounds (peak: the largest)")
    print(f"{'reader':42} {'seconds':>8} {'files/s':>9} {'peak MB':>8} {'CPU s':>7} {'ms CPU/file':>11}")
    for name, seconds, peak, cpu in results:
        print(f"{name:42} {seconds:8.2f} {len(paths) / seconds:9,.0f} {peak:8,.0f} {cpu:7.2f} "
              f"{cpu / len(paths) * 1e3:11.2f}")
    ingest_s, plain_s, rerun_s = results[0][1], results[1][1], results[-1][1]
    speedup = plain_s / ingest_s
    cpu_ratio = results[1][3] / results[0][3]
    peak_max = max(r[2] for r in results if r[0].startswith("idc-qc"))
    print(f"\ningest vs plain loop: {speedup:.2f}x (target >= 1.8x with 2 processes) "
          f"{'MET' if speedup >= 1.8 else 'NOT MET'}")
    print(f"  CPU per file, plain loop / ingest: {cpu_ratio:.2f} (with {args.workers} idle cores the wall-clock "
          f"speed-up would be about {cpu_ratio * args.workers:.2f}x; load average now {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")
    print(f"ingest peak memory: {peak_max:,.0f} MB (target < 1,000 MB) {'MET' if peak_max < 1000 else 'NOT MET'}")
    print(f"rerun: {rerun_s / ingest_s:.1%} of the first run (target < 5%) "
          f"{'MET' if rerun_s / ingest_s < 0.05 else 'NOT MET'}")
    print(f"       without interpreter and CLI start-up (the ingest function's own time, ingest_manifest.json): "
          f"{inside_rerun_s:.3f}s of {inside_first_s:.3f}s = {inside_rerun_s / inside_first_s:.1%}")
    print("(each figure above includes its own interpreter start-up: python + imports for ingest and the loop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
