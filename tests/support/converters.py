"""Series with one geometry fault each, written as real DICOM files, and what the real
converters (highdicom, dicom2nifti, dcm2niix, SimpleITK) do with them.

Each case is a small CT or MR series (8x8 pixels, 10 slices of 2.5 mm unless the fault is
about the count) with one fault at a size chosen against one tool's tolerance: just inside
and just outside it (seeds/converter_rules.csv gives each tolerance and its source line).
``observe`` runs the four tools on a written series and returns what each did, in the
outcome words of series_converters; ``instance_rows`` turns the same files into rows of
the instance input (idc_qc/instances/schema.py), so one build predicts what was observed.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from idc_qc.instances import schema as instance_schema

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
UID_ROOT = "1.2.826.0.1.3680043.10.1133"  # a test root: never an IDC UID
TOOLS = ("highdicom", "dcm2niix", "dicom2nifti", "SimpleITK")
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass
class Slice:
    """One instance of a case: where it is and what it says about itself."""

    position: tuple[float, float, float]
    orientation: tuple[float, ...] = AXIAL
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "AXIAL")
    columns: int = 8
    echo: int | None = None
    acquisition: int = 1
    pixel_spacing: str = "0.5"


@dataclass
class Case:
    """A series with one fault: ``fault`` groups the boundary cases of one rule."""

    name: str
    fault: str
    note: str
    slices: list[Slice]
    modality: str = "CT"
    gantry_tilt: float | None = None
    #: CT only: write XRayExposure (0018,1152), which dcm2niix reads as "this is CT" and then
    #: stacks every instance of one matrix size, whatever its orientation
    exposure: bool = False
    uid: str = field(default="")

    def __post_init__(self):
        if not self.uid:
            self.uid = f"{UID_ROOT}.{zlib.crc32(self.name.encode())}"


def _ds(value: float) -> str:
    """A float as a DICOM Decimal String (at most 16 characters)."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.8g}"


def _stack(n: int = 10, spacing: float = 2.5, *, shift=None, orientation=AXIAL, **kwargs) -> list[Slice]:
    """``n`` slices ``spacing`` mm apart along the normal of ``orientation``; ``shift(i)`` adds an
    offset (mm, a 3-vector) to slice i."""
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    origin = np.array([-10.0, -10.0, 100.0])
    slices = []
    for i in range(n):
        p = origin + i * spacing * normal + (np.asarray(shift(i)) if shift else 0.0)
        slices.append(Slice(tuple(float(v) for v in p), tuple(orientation), **kwargs))
    return slices


def _along(index: int, mm: float, normal=(0.0, 0.0, 1.0)):
    return lambda i: np.array(normal) * mm if i == index else np.zeros(3)


def _rotated_axial(angle: float) -> tuple[float, ...]:
    """Axial direction cosines turned ``angle`` radians in plane (a slightly different IOP)."""
    c, s = math.cos(angle), math.sin(angle)
    return (c, s, 0.0, -s, c, 0.0)


def cases() -> list[Case]:
    """Every case, grouped by fault; the boundaries sit on either side of each tool's tolerance."""
    out: list[Case] = [
        Case("uniform", "uniform", "a regular axial volume", _stack()),
        Case("uniform_oblique", "uniform", "a regular volume tilted 20 degrees about x (oblique, not a gantry tilt)",
             _stack(orientation=(1.0, 0.0, 0.0, 0.0, math.cos(math.radians(20)), math.sin(math.radians(20))))),
        Case("uniform_thin", "uniform", "a regular volume of 0.5 mm slices", _stack(spacing=0.5)),
    ]
    # one slice off its place along the normal: a gap of 2.5 + d and one of 2.5 - d
    for d in (0.0001, 0.001, 0.0125, 0.0375, 0.15, 0.21, 0.3, 1.0):
        out.append(Case(f"jitter_{_ds(d)}mm", "non_uniform_spacing",
                        f"slice 5 moved {d} mm along the normal", _stack(shift=_along(5, d))))
    # a whole missing slice, and a gap of 1.5 slices
    missing = _stack(11)
    out.append(Case("missing_slice", "missing_slice", "slice 5 of 11 left out (a gap of 2 x 2.5 mm)",
                    missing[:5] + missing[6:]))
    out.append(Case("missing_slices_two", "missing_slice", "slices 4 and 5 of 12 left out (a gap of 3 x 2.5 mm)",
                    _stack(12)[:4] + _stack(12)[6:]))
    out.append(Case("missing_last", "missing_slice", "the last slice left out: still regular", _stack(11)[:10]))
    # the same position twice (different pixels)
    dup = _stack()
    out.append(Case("duplicate_position", "duplicate_position", "slice 5 written twice (two instances, one position)",
                    dup[:6] + [Slice(dup[5].position)] + dup[6:]))
    out.append(Case("near_duplicate_position", "duplicate_position",
                    "an extra slice 0.01 mm from slice 5", dup[:6] + [Slice((dup[5].position[0], dup[5].position[1],
                                                                              dup[5].position[2] + 0.01))] + dup[6:]))
    # one slice with a slightly turned orientation (positions stay on the line)
    for a in (0.00005, 0.0005, 0.003, 0.05):
        s = _stack()
        s[5] = Slice(s[5].position, _rotated_axial(a))
        out.append(Case(f"orientation_{_ds(a)}rad", "mixed_orientation",
                        f"slice 5 turned {a} rad in plane", s))
    half = _stack()
    for i in range(5, 10):
        half[i] = Slice(half[i].position, _rotated_axial(0.003))
    out.append(Case("orientation_half", "mixed_orientation", "slices 5-9 turned 0.003 rad in plane (two groups of 5)",
                    half))
    # gantry tilt: the stack runs along a line tilted from the normal (CT, GantryDetectorTilt set)
    for deg in (0.5, 0.7, 1.0, 2.0, 2.8, 3.5, 15.0):
        t = math.tan(math.radians(deg))
        out.append(Case(f"tilt_{_ds(deg)}deg", "gantry_tilt", f"gantry tilt {deg} degrees",
                        _stack(shift=lambda i, t=t: np.array([0.0, i * 2.5 * t, 0.0])), gantry_tilt=deg))
    # too few slices
    for n in (1, 2, 3, 4):
        out.append(Case(f"slices_{n}", "too_few_slices", f"{n} slice(s)", _stack(n)))
    # a localizer mixed in: coronal, with its own matrix size or the volume's
    for columns, label in ((12, "localizer"), (8, "localizer_same_size")):
        s = _stack()
        s.insert(0, Slice((-10.0, 0.0, 150.0), (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
                          ("ORIGINAL", "PRIMARY", "LOCALIZER"), columns=columns))
        out.append(Case(label, "localizer", f"a coronal localizer ({columns} columns) with 10 axial slices", s))
    s = _stack()
    s.insert(0, Slice((-10.0, 0.0, 150.0), (1.0, 0.0, 0.0, 0.0, 0.0, -1.0), ("ORIGINAL", "PRIMARY", "LOCALIZER")))
    out.append(Case("localizer_same_size_exposure", "localizer",
                    "a coronal localizer of the volume's size, every instance with XRayExposure (0018,1152)", s,
                    exposure=True))
    # dcm2niix's split keys
    echoes = [Slice(s.position, echo=e, image_type=("ORIGINAL", "PRIMARY", "M")) for e in (1, 2) for s in _stack()]
    out.append(Case("two_echoes", "split_keys", "MR: echo 1 and echo 2 at the same 10 positions", echoes,
                    modality="MR"))
    out.append(Case("magnitude_phase", "split_keys", "MR: a magnitude and a phase image (ImageType M / P) at each of 10 positions",
                    [Slice(s.position, echo=1, image_type=("ORIGINAL", "PRIMARY", f"{k}_FFE", k, "FFE"))
                     for k in ("M", "P") for s in _stack()], modality="MR"))
    out.append(Case("four_d", "split_keys", "MR: the same 10 positions acquired twice (one echo: a 4D series)",
                    [Slice(s.position, echo=1, image_type=("ORIGINAL", "PRIMARY", "M")) for _ in (1, 2) for s in _stack()],
                    modality="MR"))
    out.append(Case("two_acquisitions", "split_keys", "AcquisitionNumber 1 for slices 0-4, 2 for 5-9 (one stack)",
                    [Slice(s.position, acquisition=1 + (i >= 5)) for i, s in enumerate(_stack())]))
    out.append(Case("derived_mixed", "split_keys", "ImageType DERIVED on slices 5-9, ORIGINAL on 0-4",
                    [Slice(s.position, image_type=(("DERIVED", "SECONDARY") if i >= 5 else ("ORIGINAL", "PRIMARY")))
                     for i, s in enumerate(_stack())]))
    sizes = _stack()
    sizes[5] = Slice(sizes[5].position, columns=12)
    spacing = _stack()
    spacing[5] = Slice(spacing[5].position, pixel_spacing="0.6")
    out.append(Case("pixel_spacing_mixed", "split_keys", "slice 5 has 0.6 mm pixels, the others 0.5 mm", spacing))
    out.append(Case("matrix_size_mixed", "split_keys", "slice 5 has 12 columns, the others 8", sizes))
    return out


# ------------------------------------------------------------------------------------------
# writing


def write_case(case: Case, folder: Path) -> Path:
    """Write ``case`` as one DICOM file per instance into ``folder/case.name`` and return it."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    out = folder / case.name
    out.mkdir(parents=True, exist_ok=True)
    sop_class = MR_IMAGE if case.modality == "MR" else CT_IMAGE
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    for number, s in enumerate(case.slices, start=1):
        sop = f"{case.uid}.{number}"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{case.uid}.0", case.uid
        ds.FrameOfReferenceUID = f"{case.uid}.9"
        ds.PatientID, ds.PatientName = "converters", "Converters^Test"
        ds.StudyDate, ds.StudyTime, ds.SeriesDate, ds.SeriesTime = "20260101", "120000", "20260101", "120000"
        ds.AcquisitionTime = ds.ContentTime = "120000"
        ds.Modality, ds.Manufacturer, ds.PatientPosition = case.modality, "IDCQC", "HFS"
        ds.SeriesNumber, ds.AcquisitionNumber, ds.InstanceNumber = 1, s.acquisition, number
        ds.SeriesDescription = case.name
        ds.ImageType = list(s.image_type)
        ds.ImagePositionPatient = [_ds(v) for v in s.position]
        ds.ImageOrientationPatient = [_ds(v) for v in s.orientation]
        ds.PixelSpacing = [s.pixel_spacing, s.pixel_spacing]
        ds.SliceThickness = "2.5"
        if case.gantry_tilt is not None:
            ds.GantryDetectorTilt = _ds(case.gantry_tilt)
        if case.modality == "MR":
            ds.EchoTime = _ds(10.0 * (s.echo or 1))
            ds.EchoNumbers = s.echo or 1
            ds.RepetitionTime, ds.FlipAngle = "500", "90"
        else:
            ds.RescaleIntercept, ds.RescaleSlope, ds.KVP = "0", "1", "120"
            if case.exposure:
                ds.Exposure = 10
        ds.Rows, ds.Columns = 8, s.columns
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = rng.integers(0, 1000, size=(8, s.columns), dtype=np.uint16).tobytes()
        pydicom.dcmwrite(out / f"{number:04d}.dcm", ds, enforce_file_format=True)
    return out


def instance_rows(folder: Path) -> list[dict]:
    """The files under ``folder`` as rows of the instance input (the declared columns, as
    dicom_all holds them: decimal strings kept as written, lists for multi-valued attributes)."""
    import pydicom

    rows = []
    for path in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        row: dict = {}
        for column in instance_schema.COLUMNS:
            element = ds.get(column.name)
            if column.name == "collection_id":
                value = "converters"
            elif element is None or element == "":
                value = None
            elif column.kind == instance_schema.STRING_ARRAY:
                value = [str(v) for v in (element if isinstance(element, (list, tuple)) or hasattr(element, "__iter__")
                                          and not isinstance(element, str) else [element])]
            elif column.kind == instance_schema.INTEGER:
                value = int(element)
            else:
                value = str(element)
            row[column.name] = value
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------
# observing


@dataclass
class Observed:
    tool: str
    outcome: str
    volumes: int
    detail: str


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dcm"))


def run_highdicom(folder: Path) -> Observed:
    """highdicom.get_volume_from_series with its defaults: a Volume, or a ValueError."""
    import highdicom as hd
    import pydicom

    datasets = [pydicom.dcmread(p) for p in _files(folder)]
    try:
        volume = hd.get_volume_from_series(datasets)
    except Exception as error:  # noqa: BLE001 - what it raised is the observation
        return Observed("highdicom", "refuses", 0, f"{type(error).__name__}: {error}")
    return Observed("highdicom", "assembles", 1, f"shape {tuple(volume.shape)}")


def run_dicom2nifti(folder: Path, out: Path) -> Observed:
    """dicom2nifti.convert_dicom.dicom_array_to_nifti with its default settings (validators on)."""
    import logging

    import pydicom
    from dicom2nifti import convert_dicom

    logging.getLogger("dicom2nifti").setLevel(logging.CRITICAL)
    datasets = [pydicom.dcmread(p) for p in _files(folder)]
    out.mkdir(parents=True, exist_ok=True)
    try:
        result = convert_dicom.dicom_array_to_nifti(datasets, str(out / "volume.nii"), reorient_nifti=False)
    except Exception as error:  # noqa: BLE001 - any exception of dicom2nifti is its refusal, recorded as observed
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        return Observed("dicom2nifti", "refuses", 0, f"{type(error).__name__}: {message}")
    shape = result["NII"].shape
    if len(shape) == 4 and shape[3] > 1:
        return Observed("dicom2nifti", f"splits into {shape[3]} volumes", shape[3], f"4D {shape}")
    return Observed("dicom2nifti", "assembles", 1, f"shape {shape}")


def dcm2niix_binary() -> str:
    exe = Path(sys.executable).parent / "dcm2niix"
    return str(exe) if exe.exists() else "dcm2niix"


#: dcm2niix warnings about the header, not the geometry: the written files carry no vendor it knows
_HEADER_WARNINGS = ("Unable to determine manufacturer",)


def run_dcm2niix(folder: Path, out: Path) -> Observed:
    """The dcm2niix binary from PyPI with its defaults (no compression, no sidecar): how many
    volumes it wrote (its _Tilt_ and _Eq_ copies are extra renderings, not volumes), and its warnings."""
    out.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([dcm2niix_binary(), "-z", "n", "-b", "n", "-f", "v", "-o", str(out), str(folder)],
                         check=False, capture_output=True, text=True, timeout=60)
    text = run.stdout + run.stderr
    written = sorted(p.name for p in out.glob("*.nii"))
    volumes = [n for n in written if "_Tilt_" not in n and "_Eq_" not in n]
    warnings = [line.strip() for line in text.splitlines()
                if (line.startswith("Warning:") or "Gantry Tilt" in line) and not any(h in line for h in _HEADER_WARNINGS)]
    detail = "; ".join(written) + (" | " + " | ".join(warnings) if warnings else "")
    if not volumes:
        return Observed("dcm2niix", "refuses", 0, f"exit {run.returncode}: {text.strip()[-200:]}")
    if len(volumes) > 1:
        return Observed("dcm2niix", f"splits into {len(volumes)} volumes", len(volumes), detail)
    import nibabel

    shape = nibabel.load(out / volumes[0]).shape
    if len(shape) == 4 and shape[3] > 1:  # one 4D file: the positions repeat as whole stacks
        return Observed("dcm2niix", f"splits into {shape[3]} volumes", shape[3], f"4D {shape}; {detail}")
    if warnings or len(written) > len(volumes):
        return Observed("dcm2niix", "assembles with a warning", 1, detail)
    return Observed("dcm2niix", "assembles", 1, detail)


_ITK_SCRIPT = r"""
import json, sys
import numpy as np
import pydicom
import SimpleITK as sitk
for folder in sys.argv[1:]:
    sys.stderr.write("@@ " + folder + "\n"); sys.stderr.flush()
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(folder)
    reader.SetFileNames(names)
    try:
        image = reader.Execute()
    except Exception as error:
        print(json.dumps({"folder": folder, "error": str(error).strip().splitlines()[-1][:300]})); continue
    errors = []
    for k, name in enumerate(names):
        ipp = np.array([float(v) for v in pydicom.dcmread(name, stop_before_pixels=True).ImagePositionPatient])
        index = (0, 0, k) if image.GetDimension() == 3 else (0, 0)
        placed = np.array(image.TransformIndexToPhysicalPoint(index))
        errors.append(float(np.linalg.norm(placed[:3] - ipp[:len(placed)])))
    print(json.dumps({"folder": folder, "size": list(image.GetSize()), "spacing": list(image.GetSpacing()),
                      "max_error": max(errors)}), flush=True)
"""


def run_simpleitk(folders: list[Path]) -> dict[Path, Observed]:
    """SimpleITK's ImageSeriesReader over GetGDCMSeriesFileNames, in one child process for all
    ``folders`` (ITK writes its warnings to the C++ stderr): refused, or how far the volume puts a
    slice from its ImagePositionPatient (more than 1% of ITK's own spacing is wrong geometry,
    the tolerance of rule SimpleITK_wrong_geometry) and whether it warned."""
    import json

    run = subprocess.run([sys.executable, "-c", _ITK_SCRIPT, *map(str, folders)], check=False, capture_output=True,
                         text=True, timeout=600)
    warned_in, current = set(), None
    for line in run.stderr.splitlines():
        if line.startswith("@@ "):
            current = line[3:]
        elif "Non uniform sampling" in line and current:
            warned_in.add(current)
    observed = {}
    for line in run.stdout.splitlines():
        result = json.loads(line)
        folder = Path(result["folder"])
        if "error" in result:
            observed[folder] = Observed("SimpleITK", "refuses", 0, result["error"])
            continue
        warned = result["folder"] in warned_in
        spacing = result["spacing"][-1] if len(result["size"]) == 3 else 1.0
        detail = (f"size {result['size']}, spacing {spacing:.6g}, largest slice displacement "
                  f"{result['max_error']:.4g} mm" + ("; warned: non uniform sampling" if warned else ""))
        if result["max_error"] > 0.01 * spacing:
            observed[folder] = Observed("SimpleITK", "assembles with wrong geometry", 1, detail)
        elif warned:
            observed[folder] = Observed("SimpleITK", "assembles with a warning", 1, detail)
        else:
            observed[folder] = Observed("SimpleITK", "assembles", 1, detail)
    missing = [f for f in folders if f not in observed]
    assert not missing, f"SimpleITK gave no answer for {missing}: {run.stderr[-500:]}"
    return observed


def write_and_observe(folder: Path) -> tuple[list[Case], dict[str, dict[str, Observed]], list[dict]]:
    """Write every case under ``folder/dicom``, run the four tools on each, and return the cases,
    what each tool did (by SeriesInstanceUID, then tool) and the instance rows of the files."""
    written = folder / "dicom"
    all_cases = cases()
    folders = {case.uid: write_case(case, written) for case in all_cases}
    itk = run_simpleitk(list(folders.values()))
    observed = {}
    for case in all_cases:
        f = folders[case.uid]
        observed[case.uid] = {
            "highdicom": run_highdicom(f),
            "dicom2nifti": run_dicom2nifti(f, folder / "out" / "dicom2nifti" / case.name),
            "dcm2niix": run_dcm2niix(f, folder / "out" / "dcm2niix" / case.name),
            "SimpleITK": itk[f],
        }
    return all_cases, observed, instance_rows(written)


#: Outcomes the mart cannot predict from the instance input, by (case, tool): each is explained in
#: the notes of the seed rule the mart names for it (tests assert both).
KNOWN_MISSES: dict[tuple[str, str], str] = {
    # dcm2niix stacks every CT instance of one size when XRayExposure is present; the instance
    # input (idc_qc/instances/schema.py) does not carry XRayExposure
    ("localizer_same_size_exposure", "dcm2niix"): "dcm2niix_split_orientation",
}


@dataclass
class Comparison:
    case: Case
    tool: str
    observed: Observed
    predicted: str | None
    rule_id: str | None
    measured_value: float | None

    @property
    def agrees(self) -> bool:
        return self.observed.outcome == self.predicted


def build_and_compare(folder: Path) -> tuple[Path, list[Comparison]]:
    """Write and observe every case under ``folder``, build series_converters over the same files
    once, and pair each (series, tool) observation with its prediction."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from idc_qc.build import build
    from idc_qc.instances import arrow_schema

    all_cases, observed, rows = write_and_observe(folder)
    instances = folder / "instances.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), instances)
    db = folder / "converters_db" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
    db.parent.mkdir(parents=True, exist_ok=True)
    build(db, str(instances), select=["+series_converters"])
    with duckdb.connect(str(db), read_only=True) as con:
        predicted = {(uid, tool): (outcome, rule, value) for uid, tool, outcome, rule, value in con.execute(
            "select SeriesInstanceUID, converter, outcome, rule_id, measured_value from series_converters").fetchall()}
    comparisons = []
    for case in all_cases:
        for tool in TOOLS:
            outcome, rule, value = predicted.get((case.uid, tool), (None, None, None))
            comparisons.append(Comparison(case, tool, observed[case.uid][tool], outcome, rule, value))
    return db, comparisons


# ------------------------------------------------------------------------------------------
# the same cases as one multi-frame object each


def write_object(case: Case, series_folder: Path, folder: Path) -> Path | None:
    """``case``'s files (as :func:`write_case` wrote them under ``series_folder``) made one
    enhanced object by highdicom's legacy converter (LegacyConvertedEnhancedCT/MRImage: each
    slice a frame, its position and orientation in the per-frame functional groups), written as
    ``folder/case.name/object.dcm``; None when highdicom will not convert them (instances of
    different matrix sizes or ImageType values are not one object)."""
    import logging

    import pydicom
    from highdicom.legacy import LegacyConvertedEnhancedCTImage, LegacyConvertedEnhancedMRImage

    logging.getLogger("highdicom").setLevel(logging.ERROR)
    datasets = [pydicom.dcmread(p) for p in _files(series_folder / case.name)]
    converter = LegacyConvertedEnhancedMRImage if case.modality == "MR" else LegacyConvertedEnhancedCTImage
    try:
        enhanced = converter(datasets, series_instance_uid=case.uid, series_number=1,
                             sop_instance_uid=f"{case.uid}.100", instance_number=1)
    except ValueError:
        return None
    out = folder / case.name
    out.mkdir(parents=True, exist_ok=True)
    enhanced.save_as(out / "object.dcm")
    return out


def run_highdicom_object(folder: Path) -> Observed:
    """highdicom's own reader of one multi-frame image: ``imread(path).get_volume()``."""
    import highdicom as hd

    try:
        volume = hd.imread(str(_files(folder)[0])).get_volume()
    except Exception as error:  # noqa: BLE001 - what it raised is the observation
        return Observed("highdicom", "refuses", 0, f"{type(error).__name__}: {error}")
    return Observed("highdicom", "assembles", 1, f"shape {tuple(volume.shape)}")


_ITK_OBJECT_SCRIPT = r"""
import json, sys
import numpy as np
import pydicom
import SimpleITK as sitk
for path in sys.argv[1:]:
    try:
        image = sitk.ReadImage(path)
    except Exception as error:
        print(json.dumps({"path": path, "error": str(error).strip().splitlines()[-1][:300]})); continue
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    shared = ds.SharedFunctionalGroupsSequence[0]
    errors = []
    for k, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        group = frame if "PlanePositionSequence" in frame else shared
        ipp = np.array([float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient])
        errors.append(float(np.linalg.norm(np.array(image.TransformIndexToPhysicalPoint((0, 0, k))) - ipp)))
    print(json.dumps({"path": path, "size": list(image.GetSize()), "spacing": list(image.GetSpacing()),
                      "max_error": max(errors)}), flush=True)
"""


def run_simpleitk_objects(folders: list[Path]) -> dict[Path, Observed]:
    """``sitk.ReadImage`` of each folder's one multi-frame file (GDCM reads the frames), in one
    child process: how far the volume puts a frame from its position, as run_simpleitk judges it
    (no 'non uniform sampling' warning exists for one file)."""
    import json

    run = subprocess.run([sys.executable, "-c", _ITK_OBJECT_SCRIPT, *(str(_files(f)[0]) for f in folders)],
                         check=False, capture_output=True, text=True, timeout=600)
    observed = {}
    for line in run.stdout.splitlines():
        result = json.loads(line)
        folder = Path(result["path"]).parent
        if "error" in result:
            observed[folder] = Observed("SimpleITK", "refuses", 0, result["error"])
            continue
        spacing = result["spacing"][2]
        detail = f"size {result['size']}, spacing {spacing:.6g}, largest frame displacement {result['max_error']:.4g} mm"
        outcome = "assembles with wrong geometry" if result["max_error"] > 0.01 * spacing else "assembles"
        observed[folder] = Observed("SimpleITK", outcome, 1, detail)
    missing = [f for f in folders if f not in observed]
    assert not missing, f"SimpleITK gave no answer for {missing}: {run.stderr[-500:]}"
    return observed


def build_and_compare_objects(folder: Path, series_folder: Path | None = None) -> tuple[list[Comparison], dict[str, str]]:
    """Every case written as files (or taken from ``series_folder``, where :func:`build_and_compare`
    wrote them), then as one enhanced object, the four tools run on each object, the objects read
    by ``idc-qc ingest`` (their frames table) and built once; each (object, tool) observation paired
    with its prediction. Also returns the cases highdicom would not make one object of, with why."""
    import duckdb

    from idc_qc.build import build
    from idc_qc.ingest.run import ingest

    all_cases = cases()
    objects_folder = folder / "objects"
    written = series_folder is not None
    series_folder = series_folder or folder / "dicom"
    made, not_objects = {}, {}
    for case in all_cases:
        if not written:
            write_case(case, series_folder)
        out = write_object(case, series_folder, objects_folder)
        if out is None:
            not_objects[case.name] = "highdicom's legacy converter refuses these instances as one object"
        else:
            made[case.uid] = (case, out)
    itk = run_simpleitk_objects([out for _, out in made.values()])
    observed = {uid: {"highdicom": run_highdicom_object(out),
                      "dicom2nifti": run_dicom2nifti(out, folder / "out" / "dicom2nifti" / case.name),
                      "dcm2niix": run_dcm2niix(out, folder / "out" / "dcm2niix" / case.name),
                      "SimpleITK": itk[out]} for uid, (case, out) in made.items()}
    ingest([str(objects_folder)], folder / "ingested", workers=1)
    db = folder / "objects_db" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
    db.parent.mkdir(parents=True, exist_ok=True)
    build(db, str(folder / "ingested"), select=["+series_converters"])
    with duckdb.connect(str(db), read_only=True) as con:
        predicted = {(uid, tool): (outcome, rule, value) for uid, tool, outcome, rule, value in con.execute(
            "select SeriesInstanceUID, converter, outcome, rule_id, measured_value from series_converters").fetchall()}
    comparisons = []
    for uid, (case, _) in made.items():
        for tool in TOOLS:
            outcome, rule, value = predicted.get((uid, tool), (None, None, None))
            comparisons.append(Comparison(case, tool, observed[uid][tool], outcome, rule, value))
    return comparisons, not_objects


def agreement_table(comparisons: list[Comparison]) -> str:
    """Predicted against observed per fault and tool (right / compared), then every disagreement."""
    faults = list(dict.fromkeys(c.case.fault for c in comparisons))
    lines = [f"{'fault':<22}" + "".join(f"{t:>14}" for t in TOOLS) + f"{'all':>10}"]
    for fault in faults + ["all"]:
        cells = []
        for tool in list(TOOLS) + ["all"]:
            chosen = [c for c in comparisons if fault in ("all", c.case.fault) and tool in ("all", c.tool)]
            cells.append(f"{sum(c.agrees for c in chosen)}/{len(chosen)}")
        lines.append(f"{fault:<22}" + "".join(f"{cell:>14}" for cell in cells[:-1]) + f"{cells[-1]:>10}")
    right = sum(c.agrees for c in comparisons)
    lines.append(f"\n{right} of {len(comparisons)} series x tool outcomes predicted right "
                 f"({100 * right / len(comparisons):.1f}%)")
    for c in comparisons:
        if not c.agrees:
            known = KNOWN_MISSES.get((c.case.name, c.tool))
            lines.append(f"  miss: {c.case.name} / {c.tool}: observed {c.observed.outcome!r}, predicted "
                         f"{c.predicted!r} ({c.rule_id}){'; explained in the seed notes of ' + known if known else ''}"
                         f"\n        the tool: {c.observed.detail[:200]}")
    return "\n".join(lines)


def outcome_table(comparisons: list[Comparison]) -> str:
    """Every case with what each tool did (observed; * where the prediction differs)."""
    lines = [f"{'case':<30}" + "".join(f"{t:<32}" for t in TOOLS)]
    for case in dict.fromkeys(c.case.name for c in comparisons):
        row = [c for c in comparisons if c.case.name == case]
        lines.append(f"{case:<30}" + "".join(f"{(c.observed.outcome + ('' if c.agrees else ' *')):<32}" for c in row))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - python -m support.converters (tests/ on the path)
    with tempfile.TemporaryDirectory() as tmp:
        _, found = build_and_compare(Path(tmp))
        print(outcome_table(found))
        print(agreement_table(found))
