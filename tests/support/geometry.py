"""Helpers for the geometry tests: synthetic series in dicom_all's shape, one build of the
geometry models, and IDC's own query run on the same input for comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idc_qc.instances import schema as instance_schema

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
PT = "1.2.840.10008.5.1.4.1.1.128"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

#: IDC's volume_geometry_index columns, all of them present in series_geometry.
IDC_BOOLEAN_COLUMNS = [
    "single_orientation",
    "orthogonal_orientation",
    "unique_slice_positions",
    "consistent_in_plane_row",
    "consistent_in_plane_col",
    "consistent_pixel_spacing",
    "consistent_image_dimensions",
    "uniform_slice_spacing",
    "regularly_spaced_3d_volume",
]
IDC_COLUMNS = [
    *IDC_BOOLEAN_COLUMNS,
    "obliquity_degrees",
    "origin_patient",
    "ImageOrientationPatient",
    "slice_spacing_mm",
]

#: Columns of the instance contract the synthetic rows carry: all of them, declared once in
#: idc_qc/instances/schema.py (dicom_all's names and types).
STRING_COLUMNS = list(instance_schema.STRING_COLUMNS)
ARRAY_COLUMNS = list(instance_schema.STRING_ARRAY_COLUMNS)
INTEGER_COLUMNS = list(instance_schema.INTEGER_COLUMNS)

GEOMETRY_MODELS = ["+series_geometry", "+instance_geometry", "+unusable_instances"]


def ds(value: float) -> str:
    """A float written as a DICOM Decimal String (at most 16 characters)."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.8g}"


def rotation(seed_vector) -> tuple[np.ndarray, np.ndarray]:
    """Row and column direction cosines of the rotation whose axis-angle vector is ``seed_vector``
    (axis = its direction, angle = its length in radians); identity (axial) for zero."""
    q = np.asarray(seed_vector, dtype=float)
    angle = float(np.linalg.norm(q))
    if angle < 1e-12:
        return np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    a, b, c = q / angle
    k = np.array([[0, -c, b], [c, 0, -a], [-b, a, 0]])
    r = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)
    return r[:, 0], r[:, 1]


def rotate_about(vector: np.ndarray, axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    t = math.radians(degrees)
    return vector * math.cos(t) + np.cross(axis, vector) * math.sin(t) + axis * np.dot(axis, vector) * (1 - math.cos(t))


@dataclass
class SeriesSpec:
    """One synthetic series: a regular volume, then at most a few injected faults."""

    uid: str
    n: int = 20
    spacing: float = 2.5
    origin: tuple[float, float, float] = (-100.0, -120.0, 40.0)
    rotation_seed: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pixel_spacing: tuple[float, float] = (0.7, 0.7)
    rows: int = 256
    columns: int = 256
    sop_class: str = CT
    modality: str = "CT"
    faults: dict[str, Any] = field(default_factory=dict)


def series_rows(spec: SeriesSpec) -> list[dict]:
    """Instances of ``spec`` as dicom_all rows. Faults (keys of ``spec.faults``):

    duplicate, missing, nonuniform, tilt (degrees), shift (mm), orientation (degrees),
    pixel_spacing, dimensions, ipp_missing, ipp_wrong_count, ipp_non_numeric, ipp_nan,
    iop_non_orthogonal (shear), iop_not_unit (scale), localizer, mip, mosaic, stacks (count), gantry_tag (degrees).
    """
    f = spec.faults
    row_dir, col_dir = rotation(np.array(spec.rotation_seed))
    normal = np.cross(row_dir, col_dir)
    step = normal.copy()
    if "tilt" in f:
        step = rotate_about(normal, row_dir, f["tilt"])
        step = step / np.dot(step, normal)  # keep the spacing along the normal
    origin = np.array(spec.origin)
    positions = [origin + k * spec.spacing * step for k in range(spec.n)]
    middle = spec.n // 2
    if "missing" in f:
        del positions[middle]
    if "nonuniform" in f:
        positions = [p + (0.3 * spec.spacing * normal if k >= middle else 0) for k, p in enumerate(positions)]
    if "shift" in f:
        positions[middle] = positions[middle] + f["shift"] * row_dir
    if "duplicate" in f:
        positions.insert(middle, positions[middle].copy())

    stacks = int(f.get("stacks", 1))
    rows: list[dict] = []
    for s in range(stacks):
        for k, p in enumerate(positions):
            r_dir, c_dir = row_dir, col_dir
            if "orientation" in f and k == middle:
                r_dir = rotate_about(row_dir, col_dir, f["orientation"])
            iop = [ds(v) for v in (*r_dir, *c_dir)]
            if "iop_non_orthogonal" in f:
                bent = c_dir + f["iop_non_orthogonal"] * r_dir  # still |row x column| = 1
                iop = [ds(v) for v in (*r_dir, *bent)]
            if "iop_not_unit" in f:
                iop = [ds(v) for v in (*r_dir, *(c_dir * f["iop_not_unit"]))]
            ipp: list[str] | None = [ds(v) for v in p]
            if k == middle:
                if "ipp_missing" in f:
                    ipp = None
                elif "ipp_wrong_count" in f:
                    ipp = ipp[:2]
                elif "ipp_non_numeric" in f:
                    ipp = [ipp[0], "n/a", ipp[2]]
                elif "ipp_nan" in f:
                    ipp = [ipp[0], "NaN", ipp[2]]
            pixel_spacing = [ds(spec.pixel_spacing[0]), ds(spec.pixel_spacing[1])]
            if "pixel_spacing" in f and k == middle:
                pixel_spacing = [ds(spec.pixel_spacing[0] * 1.5), ds(spec.pixel_spacing[1] * 1.5)]
            image_type = ["ORIGINAL", "PRIMARY", "AXIAL"]
            if "mosaic" in f:
                image_type = ["ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC"]
            rows.append(
                _row(
                    spec,
                    sop=f"{spec.uid}.{s}.{k}",
                    instance_number=s * len(positions) + k + 1,
                    ipp=ipp,
                    iop=iop,
                    pixel_spacing=pixel_spacing,
                    image_type=image_type,
                    n_rows=spec.rows + (16 if "dimensions" in f and k == middle else 0),
                    temporal=str(s + 1) if stacks > 1 else None,
                    gantry=ds(f["gantry_tag"]) if "gantry_tag" in f else None,
                )
            )
    for kind in ("localizer", "mip"):
        if kind in f:
            image_type = ["ORIGINAL", "PRIMARY", "LOCALIZER"] if kind == "localizer" else ["DERIVED", "SECONDARY", "MIP"]
            rows.append(
                _row(
                    spec,
                    sop=f"{spec.uid}.{kind}",
                    instance_number=0,
                    ipp=[ds(v) for v in origin + 300 * col_dir],
                    iop=[ds(v) for v in (*row_dir, *normal)],
                    pixel_spacing=[ds(v) for v in spec.pixel_spacing],
                    image_type=image_type,
                    n_rows=spec.rows,
                )
            )
    return rows


def _row(spec: SeriesSpec, *, sop, instance_number, ipp, iop, pixel_spacing, image_type, n_rows,
         temporal=None, gantry=None) -> dict:
    row = {c.name: None for c in instance_schema.COLUMNS}
    row.update(
        SeriesInstanceUID=spec.uid,
        SOPInstanceUID=sop,
        SOPClassUID=spec.sop_class,
        StudyInstanceUID=f"{spec.uid}.study",
        PatientID="synthetic",
        collection_id="synthetic",
        Modality=spec.modality,
        InstanceNumber=str(instance_number),
        ImageType=image_type,
        ImagePositionPatient=ipp,
        ImageOrientationPatient=iop,
        PixelSpacing=pixel_spacing,
        Rows=n_rows,
        Columns=spec.columns,
        SliceThickness=ds(spec.spacing),
        TemporalPositionIdentifier=temporal,
        GantryDetectorTilt=gantry,
    )
    return row


def write_instances(rows: list[dict], path: Path) -> Path:
    """Write dicom_all-shaped rows to one parquet file with the declared types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = instance_schema.arrow_schema()
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def build_geometry(db_path: Path, instances: str) -> Path:
    """Build (run and test) the geometry models and what they read into ``db_path``."""
    from idc_qc.build import build

    build(db_path, instances, select=GEOMETRY_MODELS)
    return db_path


def series_geometry_frame(db_path: Path):
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        frame = con.execute("select * from series_geometry").df().set_index("SeriesInstanceUID")
    # IDC's ImageOrientationPatient (numbers) is our orientation_cosines: compared under IDC's name
    return frame.rename(columns={"orientation_cosines": "ImageOrientationPatient"})


def instance_geometry_frame(db_path: Path):
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute("select * from instance_geometry").df()


def idc_reference_frame(instances: str):
    """IDC's volume_geometry_index.sql (transpiled) over the same instance files."""
    import duckdb

    from idc_qc.idc_reference import idc_volume_geometry_sql_duckdb

    relation = f"read_parquet('{instances}', union_by_name = true)"
    with duckdb.connect() as con:
        return con.execute(idc_volume_geometry_sql_duckdb(relation)).df().set_index("SeriesInstanceUID")


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(value, float) and math.isnan(value)


def _agree(column: str, ours, theirs) -> bool:
    if column in IDC_BOOLEAN_COLUMNS:
        return not _is_missing(ours) and bool(ours) == bool(theirs)
    if column in ("origin_patient", "ImageOrientationPatient"):
        if _is_missing(ours) if not hasattr(ours, "__len__") else False:
            return False
        a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
        return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-6))
    if _is_missing(ours):
        return False
    tolerance = 0.01 if column == "obliquity_degrees" else 1e-6
    return abs(float(ours) - float(theirs)) <= tolerance


def compare_with_idc(ours, idc) -> tuple[int, list[tuple[str, str, Any, Any]]]:
    """Compare IDC's columns series by series wherever IDC's query yields a value.

    Returns the number of series compared and the disagreements as
    (SeriesInstanceUID, column, ours, IDC's). IDC's obliquity reads ANY_VALUE of each
    component separately, so it is only defined when the series has a single orientation;
    it is compared there.
    """
    mismatches: list[tuple[str, str, Any, Any]] = []
    compared = 0
    for uid, idc_row in idc.iterrows():
        if uid not in ours.index:
            mismatches.append((uid, "<row>", None, "present"))
            continue
        compared += 1
        our_row = ours.loc[uid]
        for column in IDC_COLUMNS:
            theirs = idc_row[column]
            if column in ("origin_patient", "ImageOrientationPatient"):
                if theirs is None or (not hasattr(theirs, "__len__") and _is_missing(theirs)):
                    continue
            elif _is_missing(theirs):
                continue
            if column == "obliquity_degrees" and not bool(idc_row["single_orientation"]):
                continue
            if not _agree(column, our_row[column], theirs):
                mismatches.append((uid, column, our_row[column], theirs))
    return compared, mismatches


_BUILT: dict[str, Path] = {}


def built_once(instances: str, folder: Path) -> Path:
    """Build the geometry models over ``instances`` once per test session (cached by input)."""
    if instances not in _BUILT:
        db = folder / "geometry" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
        db.parent.mkdir(parents=True, exist_ok=True)
        _BUILT[instances] = build_geometry(db, instances)
    return _BUILT[instances]


def series_count(instances: str) -> int:
    import duckdb

    with duckdb.connect() as con:
        return con.execute(
            f"select count(distinct SeriesInstanceUID) from read_parquet('{instances}', union_by_name = true)"
        ).fetchall()[0][0]


def edge_case_rows() -> list[dict]:
    """Series IDC's SQL and ours must agree on although they are malformed or unusual."""
    faults = [{}, {"duplicate": 1}, {"missing": 1}, {"nonuniform": 1}, {"tilt": 15}, {"shift": 2.0},
              {"orientation": 5}, {"pixel_spacing": 1}, {"dimensions": 1}, {"ipp_missing": 1},
              {"ipp_wrong_count": 1}, {"ipp_non_numeric": 1}, {"ipp_nan": 1}, {"iop_non_orthogonal": 0.3},
              {"iop_not_unit": 1.2}, {"localizer": 1}, {"mip": 1}, {"mosaic": 1}, {"stacks": 3},
              {"missing": 1, "tilt": 10}]
    rng = np.random.default_rng(11)
    rows: list[dict] = []
    for i in range(3 * len(faults)):
        spec = SeriesSpec(
            uid=f"1.2.826.0.1.3680043.8.498.9{i}",
            n=int(rng.integers(1, 30)),
            spacing=float(rng.uniform(0.1, 10)),
            origin=tuple(rng.uniform(-300, 300, 3)),
            rotation_seed=tuple(rng.normal(size=3)) if i % 3 else (0.0, 0.0, 0.0),
            faults=faults[i % len(faults)],
        )
        rows += series_rows(spec)
    return rows


# ---------------------------------------------------------------------------------------
# bad values and real-world noise: one hand-made series per case (tests/dbt/test_geometry_bad_values.py)
# ---------------------------------------------------------------------------------------

def _regular(uid: str, n: int = 20, spacing: float = 2.5) -> list[dict]:
    return series_rows(SeriesSpec(uid=uid, n=n, spacing=spacing, origin=(-100.0, -120.0, 40.0)))


def bad_value_cases() -> dict[str, list[dict]]:
    """Series whose values are noisy or bad in one way each, keyed by case name (the series UID
    is ``1.2.826.0.1.3680043.8.498.77.<case>``). Each series is an axial regular volume of 20
    slices 2.5 mm apart (instance k at z = 40 + 2.5 k, SOPInstanceUID ``<uid>.0.<k>``) but for
    the one thing the case changes."""
    cases: dict[str, list[dict]] = {}

    def uid(case: str) -> str:
        return f"1.2.826.0.1.3680043.8.498.77.{case}"

    # direction cosines written with different rounding: one orientation
    rows = _regular(uid("cosine_roundoff"))
    for k, row in enumerate(rows):
        row["ImageOrientationPatient"] = (["1.000000", "0", "0", "0", "1.000000", "0"] if k % 2
                                          else ["0.999999", "-0", "0", "0", "1", "0.0"])
    cases["cosine_roundoff"] = rows

    # pixel spacing written as 0.5 and 0.50: one pixel spacing
    rows = _regular(uid("pixel_spacing_text"))
    for k, row in enumerate(rows):
        row["PixelSpacing"] = ["0.5", "0.5"] if k % 2 else ["0.50", "0.50"]
    cases["pixel_spacing_text"] = rows

    # 34 slices, and one more 0.001 mm from slice 17: a near-duplicate, not 63,968 missing slices
    rows = _regular(uid("near_duplicate"), n=34)
    extra = dict(rows[17], SOPInstanceUID=f"{uid('near_duplicate')}.0.near", InstanceNumber="99",
                 ImagePositionPatient=[rows[17]["ImagePositionPatient"][0], rows[17]["ImagePositionPatient"][1],
                                       ds(40.0 + 2.5 * 17 + 0.001)])
    cases["near_duplicate"] = [*rows, extra]

    # decimal strings the DICOM DS grammar rejects, and values that parse to no finite number
    for case, value in [("underscore_decimal", "1_000"), ("nan_position", "NaN"),
                        ("infinity_position", "Infinity"), ("overflow_position", "1e309")]:
        rows = _regular(uid(case))
        rows[10]["ImagePositionPatient"] = [rows[10]["ImagePositionPatient"][0], rows[10]["ImagePositionPatient"][1], value]
        cases[case] = rows

    # pixel spacing and matrix sizes that cannot be
    for case, column, value in [("zero_pixel_spacing", "PixelSpacing", ["0", "0"]),
                                ("negative_pixel_spacing", "PixelSpacing", ["-0.7", "-0.7"]),
                                ("zero_rows", "Rows", 0), ("negative_columns", "Columns", -512)]:
        rows = _regular(uid(case))
        for row in rows:
            row[column] = value
        cases[case] = rows

    # every row twice (one file matched twice by a glob)
    rows = _regular(uid("duplicated_rows"))
    cases["duplicated_rows"] = [*rows, *[dict(row) for row in rows]]

    # one SOPInstanceUID twice, with two different positions
    rows = _regular(uid("conflicting_duplicate"))
    copy = dict(rows[5], ImagePositionPatient=[rows[5]["ImagePositionPatient"][0], rows[5]["ImagePositionPatient"][1],
                                               ds(40.0 + 2.5 * 5 + 1.0)])
    cases["conflicting_duplicate"] = [*rows, copy]
    return cases


def bad_value_case_uid(case: str) -> str:
    return f"1.2.826.0.1.3680043.8.498.77.{case}"


def unusable_rows() -> list[dict]:
    """A regular series, plus rows without a usable SeriesInstanceUID or SOPInstanceUID."""
    rows = _regular(bad_value_case_uid("usable"), n=10)
    stray = _regular(bad_value_case_uid("stray"), n=4)
    stray[0]["SeriesInstanceUID"] = None
    stray[1]["SeriesInstanceUID"] = " "
    stray[2]["SOPInstanceUID"] = None
    stray[3]["SOPInstanceUID"] = ""
    return rows + stray
