"""Synthetic instance-level DICOM metadata built on IDC's real series index.

Every single-frame CT, MR and PET series of the installed ``idc-index-data`` release
(SOP classes CT Image Storage, MR Image Storage and PET Image Storage: 402,230 series,
49,439,856 instances in v25) becomes one row per instance, shaped like IDC's BigQuery
``dicom_all``. Each series keeps its real UIDs, collection, patient, modality, SOP class,
manufacturer, model, body part, age, sex, description and ``instanceCount``; the
SOPInstanceUIDs and the geometry are synthetic.

Geometry
--------
Each series is a regular volume: one ImageOrientationPatient (axial for most series,
some sagittal or coronal, some oblique at a random rotation of 5-30 degrees), one
in-plane matrix and PixelSpacing, and positions ``origin + k * spacing * normal`` with a
spacing drawn per modality (CT 0.5-5 mm, MR 1-6 mm, PT 2-5 mm) and the volume centred
near the patient's centre. Decimal strings are written with six decimals, as DICOM DS
values (``'-125.000000'``). ImageOrientationPatient values are rounded first and the
positions are built on the rounded vectors, so a regular series passes IDC's 0.1 mm
in-plane checks even when it is oblique and thousands of slices long.

Faults
------
A deterministic hash of ``(seed, SeriesInstanceUID)`` gives each series one uniform
number; laid over the cumulative fault rates (in the order below) it picks at most one
fault. Default rates (sum 0.30):

============================ ===== ====================================================
fault                        rate  what is written
============================ ===== ====================================================
missing_slices               0.04  1-3 consecutive interior instances dropped (N >= 5;
                                   at least 3 instances are kept)
duplicate_position           0.03  one instance repeats the previous slice's position
variable_spacing             0.03  one interval off by 20-50 % of the spacing (N >= 3)
gantry_tilt                  0.03  CT only: positions shifted along the column direction
                                   by ``k * spacing * tan(tilt)``, tilt 5-30 degrees,
                                   orientation unchanged, GantryDetectorTilt = tilt
mixed_orientation            0.02  one instance's orientation tilted 5-30 degrees
non_orthogonal_orientation   0.01  row and column vectors 60-80 degrees apart (all)
inconsistent_pixel_spacing   0.02  one instance's PixelSpacing 5-30 % off
inconsistent_dimensions      0.02  one instance with halved (or doubled) Rows/Columns
in_plane_shift               0.02  one instance shifted 1-5 mm within its plane
malformed_position           0.02  one instance's ImagePositionPatient non-numeric
                                   (``['abc', y, z]``), two values, or NULL
localizer_instance           0.03  one extra instance (beyond ``instanceCount``) with
                                   ImageType ``LOCALIZER`` in another plane
multi_stack_4d               0.03  2-4 temporal positions over repeated slice positions
                                   (TemporalPositionIdentifier, AcquisitionNumber set;
                                   N >= 4)
============================ ===== ====================================================

Series with one instance are labelled ``single_instance``; every other fault needs at
least two. A fault that needs more instances than the series has, or ``gantry_tilt``
drawn for a non-CT series, falls back to ``none``, so realized rates are a little below
the configured ones (full run, default rates: 66.8 % none, 7.6 % single_instance).

Outputs
-------
``out_dir/instances/part-NNNNN.parquet``
    One row per instance, the columns of :data:`INSTANCE_COLUMNS` then :data:`WIDER_COLUMNS`; rows ordered by
    collection, patient, study, series and InstanceNumber, whole series per part.
    SOPInstanceUID is ``2.25.<64-bit hash of the series UID><InstanceNumber, 5 digits>``
    (30 characters, unique); InstanceNumber keeps the original slice numbering (so
    missing slices leave a gap in it too); AcquisitionNumber is ``'1'`` (the temporal
    position in 4D series); EchoTime is set for MR only, GantryDetectorTilt for CT only
    (``'0.0'`` unless tilted); SliceThickness equals the spacing.
``out_dir/truth.parquet``
    One row per series, same order, the columns of :data:`TRUTH_COLUMNS`: the series'
    ``fault`` label, a ``key=value;...`` ``fault_detail``, the InstanceNumber the fault
    touches (``fault_instance_number``; the first dropped one for missing slices),
    ``plane``, ``spacing_mm``, ``tilt_degrees``, and the verdict IDC's
    ``volume_geometry_index`` SQL gives on the written rows. ``expected_idc_in_scope`` is
    False only for ``localizer_instance`` (IDC drops every series holding a LOCALIZER
    instance). ``expected_regularly_spaced_3d_volume`` is True for ``none``; NULL for
    ``single_instance`` (IDC's uniform-spacing check is NULL with one slice) and for
    series out of scope; False for the other faults, except where a small
    ``variable_spacing`` or ``gantry_tilt`` stays inside IDC's tolerances (1 % of the
    spacing on slice intervals, 0.1 mm in-plane), which is computed, not assumed. ``idc_check``
    names an IDC check the series fails when the verdict is False.
``out_dir/synth_manifest.json``
    Every file written (relative path, bytes, SHA-256), the arguments (seed, rates,
    selection), idc-index-data version, counts per fault and verdict, parts. Synth writes
    only into an empty folder, or with ``overwrite`` removes only the files this manifest
    lists (see :func:`synthesize`): a user's own files are never deleted.

The same seed writes the same rows in the same order and byte-identical parquet files;
a series' geometry and fault depend only on the seed and its UID, not on which other
series were selected.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .database.atomic import sha256_file
from .instances.dicom_columns import arrow_type as dicom_arrow_type
from .instances.dicom_columns import column_for_keyword
from .instances.schema import COLUMNS as INSTANCE_SCHEMA
from .instances.schema import arrow_type
from .synth_output import GENERATOR, MANIFEST, SynthOutputError, claim_out_dir, prepare_out_dir

__all__ = ["FaultRates", "SynthResult", "SynthOutputError", "MANIFEST", "synthesize", "FAULTS", "SOP_CLASSES", "INSTANCE_COLUMNS",
           "WIDER_COLUMNS", "TRUTH_COLUMNS"]

#: Single-frame SOP classes IDC's volume geometry checks cover, by the modality they hold.
SOP_CLASSES: dict[str, str] = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
}

#: Rows per instances/part-*.parquet file (whole series per part, so parts run a little over).
ROWS_PER_PART = 1_000_000
#: Parts built and written at once (threads); memory grows by ~0.5 GB per worker.
WORKERS = 2

# IDC volume_geometry_index tolerances (the DECLAREs of its v25 SQL): the truth's verdict
# uses the same numbers. Slice intervals are judged relative to the span-derived spacing.
RELATIVE_SLICE_TOLERANCE = 0.01
IN_PLANE_TOLERANCE = 0.1

_GENERATOR_VERSION = 1


@dataclass(frozen=True)
class FaultRates:
    """Probability of each injected fault per series (the rest are regular volumes).

    Defaults sum to 0.30; see the module docstring for what each fault writes.

    Raises
    ------
    ValueError
        If a rate is negative, not finite, or the rates sum to more than 1.
    """

    missing_slices: float = 0.04
    duplicate_position: float = 0.03
    variable_spacing: float = 0.03
    gantry_tilt: float = 0.03
    mixed_orientation: float = 0.02
    non_orthogonal_orientation: float = 0.01
    inconsistent_pixel_spacing: float = 0.02
    inconsistent_dimensions: float = 0.02
    in_plane_shift: float = 0.02
    malformed_position: float = 0.02
    localizer_instance: float = 0.03
    multi_stack_4d: float = 0.03

    def __post_init__(self) -> None:
        total = 0.0
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"fault rate {f.name}={value!r} is not a number")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"fault rate {f.name}={value!r} must be a finite number >= 0")
            total += value
        if total > 1 + 1e-9:
            raise ValueError(f"fault rates sum to {total:g}; the sum must be <= 1")

    def as_dict(self) -> dict[str, float]:
        """The rates by fault name, in the order faults are drawn."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def all_equal(cls, total: float = 1.0) -> "FaultRates":
        """Every fault at ``total / 12`` (``total=1`` leaves no regular series)."""
        return cls(**{f.name: total / len(fields(cls)) for f in fields(cls)})

    @classmethod
    def zero(cls) -> "FaultRates":
        """No injected faults: every series with two or more instances is regular."""
        return cls(**{f.name: 0.0 for f in fields(cls)})


#: Fault labels in draw order (index + 1 is the internal fault code; 0 is none).
FAULTS: tuple[str, ...] = tuple(f.name for f in fields(FaultRates))

(_NONE, _MISSING, _DUPLICATE, _VARIABLE, _GANTRY, _MIXED, _NONORTHO, _PIXSPACING, _DIMS, _SHIFT,
 _MALFORMED, _LOCALIZER, _MULTI4D) = range(13)
_SINGLE = 13
_LABELS = ("none", *FAULTS, "single_instance")
# Fewest instances each fault needs (index = fault code).
_MIN_INSTANCES = np.array([1, 5, 2, 3, 2, 2, 2, 2, 2, 2, 2, 2, 4, 1])
# The IDC check each fault is built to fail (None: the fault fails none, or IDC drops the series).
_IDC_CHECK = (None, "uniform_slice_spacing", "unique_slice_positions", "uniform_slice_spacing",
              "consistent_in_plane_col", "single_orientation", "orthogonal_orientation",
              "consistent_pixel_spacing", "consistent_image_dimensions", "consistent_in_plane_row",
              "unique_slice_positions", None, "unique_slice_positions", None)
_MALFORMED_KINDS = ("non_numeric", "two_values", "null")
_PLANES = ("axial", "coronal", "sagittal", "oblique")

def _dicom_type(keyword: str) -> pa.DataType:
    column = column_for_keyword(keyword)
    return dicom_arrow_type(column.kind, column.multi)


#: The instance columns synth does not write (absent in its files, typed NULLs in staging).
NOT_WRITTEN = ("NumberOfFrames", "SpacingBetweenSlices", "DiffusionBValue")
#: Instance columns, in file order, with their parquet types: the declared schema
#: (idc_qc/instances/schema.py) without NOT_WRITTEN.
INSTANCE_COLUMNS: dict[str, pa.DataType] = {
    c.name: arrow_type(c.kind) for c in INSTANCE_SCHEMA if c.name not in NOT_WRITTEN
}

#: Truth columns, in file order, with their parquet types.
TRUTH_COLUMNS: dict[str, pa.DataType] = {
    "SeriesInstanceUID": pa.string(),
    "Modality": pa.string(),
    "collection_id": pa.string(),
    "instance_count_index": pa.int64(),
    "n_instances_written": pa.int64(),
    "fault": pa.string(),
    "fault_detail": pa.string(),
    "fault_instance_number": pa.int64(),
    "plane": pa.string(),
    "spacing_mm": pa.float64(),
    "tilt_degrees": pa.float64(),
    "expected_idc_in_scope": pa.bool_(),
    "expected_regularly_spaced_3d_volume": pa.bool_(),
    "idc_check": pa.string(),
}

#: What IDC's index knows per series beyond the columns above, written after INSTANCE_COLUMNS so
#: that IDC's documented dicom_all queries find them on a demo build too (issue 25: the wider
#: shape), each typed as ``idc-qc ingest`` types it (idc_qc/instances/dicom_columns.py); a value
#: the index holds that is not of that type (a PixelRepresentation of two values, say) is NULL.
#: ``instance_size`` is the series' size in the index over its instance count, in bytes.
WIDER_COLUMNS: dict[str, pa.DataType] = {
    **{keyword: _dicom_type(keyword) for keyword in (
        "StudyDate", "StudyDescription", "SeriesDate", "SeriesNumber", "TransferSyntaxUID",
        "PhotometricInterpretation", "PixelRepresentation")},
    "instance_size": pa.int64(),
}

_INDEX_COLUMNS = ("collection_id", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "SOPClassUID",
                  "Manufacturer", "ManufacturerModelName", "BodyPartExamined", "PatientAge", "PatientSex",
                  "SeriesDescription", "instanceCount")


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synthesize` wrote.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    instances_glob : str
        Glob of the instance parquet parts (``out_dir/instances/*.parquet``).
    truth_path : Path
        ``out_dir/truth.parquet``: one row per series with its injected fault.
    series, instances : int
        Series and instance rows written.
    bytes_written : int
        Size on disk of everything written (parts, truth, manifest).
    seconds : float
        Wall time.
    """

    out_dir: Path
    instances_glob: str
    truth_path: Path
    series: int
    instances: int
    bytes_written: int
    seconds: float


# ----------------------------------------------------------------------------------------------
# deterministic pseudo-random numbers: one 64-bit hash per series, split into named streams

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
(_S_SAMPLE, _S_FAULT, _S_PLANE, _S_OBLIQUE_BASE, _S_ANGLE1, _S_ANGLE2, _S_ANGLE3, _S_SPACING, _S_DIRECTION,
 _S_FOV, _S_MATRIX, _S_CENTRE_X, _S_CENTRE_Y, _S_CENTRE_Z, _S_ECHO, _S_WHERE, _S_SIZE, _S_SIGN, _S_KIND,
 _S_ANGLE_F, _S_OBLIQUE_SIGN) = range(21)


def _series_hash(uids: list[str], key: str) -> np.ndarray:
    """64-bit blake2b of ``key`` and each UID: stable across runs, platforms and Python versions."""
    prefix = key.encode() + b"\x00"
    out = np.empty(len(uids), dtype=np.uint64)
    for i, uid in enumerate(uids):
        out[i] = int.from_bytes(hashlib.blake2b(prefix + uid.encode(), digest_size=8).digest(), "little")
    return out


def _mix64(z: np.ndarray) -> np.ndarray:
    # splitmix64 finalizer: uint64 array arithmetic wraps modulo 2**64 by design.
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _uniform(h: np.ndarray, stream: int) -> np.ndarray:
    """Uniform [0, 1) doubles, one per series, independent across ``stream`` numbers."""
    offset = np.uint64(((stream + 1) * _GOLDEN) & _M64)
    with np.errstate(over="ignore"):
        z = _mix64(h + offset)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _pick(u: np.ndarray, low: int, high: np.ndarray | int) -> np.ndarray:
    """Integers in [low, high] (inclusive) from uniforms ``u``."""
    span = np.maximum(np.asarray(high) - low + 1, 1)
    return low + np.minimum((u * span).astype(np.int64), span - 1)


# ----------------------------------------------------------------------------------------------
# formatting


def _ds(values: np.ndarray) -> pa.Array:
    """Doubles as DICOM decimal strings with six decimals ('-125.000000'), vectorized in Arrow."""
    rounded = np.round(np.asarray(values, dtype=np.float64), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    return pc.cast(pa.array(rounded), pa.decimal128(18, 6), safe=False).cast(pa.string())


def _short(values: np.ndarray) -> list[str]:
    """Shortest round-trip decimal strings ('2.5', '0.625') for series-level values."""
    return [repr(float(v)) if not float(v).is_integer() else f"{float(v):.1f}" for v in values]


def _dict_take(values: pa.Array, idx: np.ndarray) -> pa.DictionaryArray:
    """``values.take(idx)`` as a dictionary array over the distinct values.

    Rows repeat per-series strings hundreds of times; a dictionary array is built without
    copying them and the parquet writer encodes it directly (the files hold plain strings).
    """
    enc = values.dictionary_encode()
    codes = enc.indices.fill_null(0).to_numpy()
    valid = enc.indices.is_valid().to_numpy(zero_copy_only=False)
    mask = None if valid.all() else ~valid[idx]
    return pa.DictionaryArray.from_arrays(codes[idx], enc.dictionary, mask=mask)


def _lists(values: pa.Array, starts: np.ndarray, lengths: np.ndarray) -> pa.ListArray:
    """Rows ``values[starts[i]:starts[i] + lengths[i]]`` as a list<string> array."""
    offsets = np.zeros(len(starts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    where = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return pa.ListArray.from_arrays(pa.array(offsets), _dict_take(values, where))


# ----------------------------------------------------------------------------------------------
# geometry helpers


def _rot(axis: int, deg: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotation matrices about coordinate axis ``axis`` by ``deg`` degrees."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m[:, axis, axis] = 1.0
    m[:, i, i] = c
    m[:, j, j] = c
    m[:, i, j] = -s
    m[:, j, i] = s
    return m


_PLANE_X = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]])     # axial, coronal, sagittal row vectors
_PLANE_Y = np.array([[0, 1.0, 0], [0, 0, -1.0], [0, 0, -1.0]])    # ... and column vectors

# Spacing choices (mm) per SOP-class modality, with weights.
_SPACINGS = {
    "CT": ([0.5, 0.625, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 3.75, 5.0], [1, 3, 2, 4, 3, 2, 2, 4, 3, 1, 3]),
    "MR": ([1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0], [2, 2, 2, 2, 1, 3, 1, 2, 1, 3, 2]),
    "PT": ([2.0, 2.027, 2.5, 3.0, 3.27, 3.375, 4.0, 4.25, 5.0], [2, 1, 1, 3, 2, 2, 3, 1, 2]),
}
# Plane probabilities (axial, coronal, sagittal, oblique) per modality.
_PLANE_P = {"CT": [0.92, 0.02, 0.02, 0.04], "MR": [0.50, 0.14, 0.18, 0.18], "PT": [0.96, 0.01, 0.01, 0.02]}
_MATRICES = {"CT": [512], "MR": [256, 320, 384, 512], "PT": [128, 144, 168, 192, 200, 256]}
_FOV = {"CT": (250, 500), "MR": (160, 400), "PT": (500, 700)}


def _weighted(u: np.ndarray, choices: list, weights: list) -> np.ndarray:
    cum = np.cumsum(weights, dtype=np.float64)
    cum /= cum[-1]
    return np.asarray(choices)[np.minimum(np.searchsorted(cum, u, side="right"), len(choices) - 1)]


# ----------------------------------------------------------------------------------------------
# selection


_DUCKDB_TYPES = {pa.string(): "varchar", pa.date32(): "date", pa.int64(): "bigint"}


def _wider_select(present: set[str]) -> list[str]:
    """The select list of WIDER_COLUMNS over IDC's index (typed NULL where an older index lacks one)."""
    out = []
    for name, arrow in WIDER_COLUMNS.items():
        sql_type = _DUCKDB_TYPES[arrow]
        if name == "instance_size":
            value = ("round(series_size_MB * 1e6 / nullif(instanceCount, 0))"
                     if {"series_size_MB", "instanceCount"} <= present else "null")
        else:
            value = name if name in present else "null"
        out.append(f"try_cast({value} as {sql_type}) as {name}")
    return out


def _load_series(index_path: Path, modalities: tuple[str, ...], collections: tuple[str, ...] | None) -> pa.Table:
    import duckdb

    classes = [SOP_CLASSES[m] for m in modalities]
    con = duckdb.connect()
    try:
        con.execute("set threads to 2")
        present = {name for (name,) in con.execute("select name from parquet_schema(?)", [str(index_path)]).fetchall()}
        cols = ", ".join((*_INDEX_COLUMNS, *_wider_select(present)))
        sql = f"select {cols} from read_parquet(?) where SOPClassUID in (select unnest(?::varchar[]))"
        params: list = [str(index_path), classes]
        if collections is not None:
            known = {c for (c,) in con.execute(
                "select distinct collection_id from read_parquet(?) where SOPClassUID in (select unnest(?::varchar[]))",
                params).fetchall()}
            unknown = [c for c in collections if c not in known]
            if unknown:
                raise ValueError(f"unknown collection {unknown[0]!r}: it has no single-frame "
                                 f"{'/'.join(modalities)} series in the IDC index")
            sql += " and collection_id in (select unnest(?::varchar[]))"
            params.append(list(collections))
        sql += " order by collection_id, PatientID, StudyInstanceUID, SeriesInstanceUID"
        return con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------
# per-series plan


@dataclass
class _Plan:
    """Everything per series (numpy arrays of length S, or Arrow arrays) the instance writer needs."""

    meta: pa.Table              # index columns, selected series in output order
    family: np.ndarray          # 0 CT, 1 MR, 2 PT (the SOP class)
    n_index: np.ndarray         # instanceCount
    n_written: np.ndarray
    fault: np.ndarray           # fault code
    j: np.ndarray               # the instance (0-based row within the series) a fault touches
    m: np.ndarray               # missing_slices: instances dropped
    stack: np.ndarray           # multi_stack_4d: positions per stack
    kind: np.ndarray            # malformed_position kind
    plane: np.ndarray
    spacing: np.ndarray
    direction: np.ndarray       # +1 / -1 along the normal
    x: np.ndarray               # (S, 3) rounded row direction used for positions
    y: np.ndarray               # (S, 3) rounded column direction
    normal: np.ndarray          # (S, 3) unit normal of x and y
    origin: np.ndarray          # (S, 3)
    delta: np.ndarray           # variable_spacing: interval change (mm)
    tilt: np.ndarray            # gantry_tilt degrees (0 otherwise)
    shift: np.ndarray           # (S, 3) in_plane_shift vector
    localizer_pos: np.ndarray   # (S, 3)
    rows: np.ndarray
    cols: np.ndarray
    alt_rows: np.ndarray
    alt_cols: np.ndarray
    iop: pa.Array               # 12 strings per series: base orientation, then the alternative one
    pixel_spacing: pa.Array     # 4 strings per series: base, then the alternative
    sop_prefix: pa.Array        # '2.25.<64-bit hash of the series UID>'
    thickness: pa.Array
    echo: pa.Array
    gantry: pa.Array
    detail: list
    fault_instance: np.ndarray  # InstanceNumber the fault touches, -1 when series-wide / none
    expected_in_scope: np.ndarray
    expected_regular: np.ndarray  # 1 True, 0 False, -1 NULL
    idc_check: list


def _plan(meta: pa.Table, seed: int, rates: FaultRates) -> _Plan:
    meta = meta.combine_chunks()
    uids = meta.column("SeriesInstanceUID").to_pylist()
    S = len(uids)
    h = _series_hash(uids, f"idc-qc-synth:{seed}")
    u = lambda stream: _uniform(h, stream)  # noqa: E731 - a short alias keeps the formulas readable

    sop_class = meta.column("SOPClassUID").to_numpy(zero_copy_only=False)
    family = np.select([sop_class == SOP_CLASSES["CT"], sop_class == SOP_CLASSES["MR"]], [0, 1], 2)
    n_index = meta.column("instanceCount").to_numpy(zero_copy_only=False).astype(np.int64)
    if S and (n_index.min() < 1 or n_index.max() >= 99_999):
        raise ValueError("the IDC index holds an instanceCount outside 1..99998; cannot synthesize it")

    # --- fault draw: one uniform against the cumulative rates, then applicability fallbacks
    cum = np.cumsum(list(rates.as_dict().values()))
    fault = np.searchsorted(cum, u(_S_FAULT), side="right") + 1
    fault[fault > len(FAULTS)] = _NONE
    fault[n_index < _MIN_INSTANCES[fault]] = _NONE
    fault[(fault == _GANTRY) & (family != 0)] = _NONE  # gantry tilt is a CT acquisition artefact
    fault[n_index == 1] = _SINGLE

    # --- orientation
    plane = np.zeros(S, dtype=np.int64)
    spacing = np.zeros(S)
    rows = np.zeros(S, dtype=np.int64)
    fov = np.zeros(S)
    for code, name in enumerate(("CT", "MR", "PT")):
        sel = family == code
        plane[sel] = _weighted(u(_S_PLANE)[sel], [0, 1, 2, 3], _PLANE_P[name])
        spacing[sel] = _weighted(u(_S_SPACING)[sel], *_SPACINGS[name])
        rows[sel] = _weighted(u(_S_MATRIX)[sel], _MATRICES[name], [1] * len(_MATRICES[name]))
        lo, hi = _FOV[name]
        fov[sel] = np.floor(lo + (hi - lo) * u(_S_FOV)[sel])
    cols = rows.copy()
    ps = np.round(fov / rows, 6)

    base = np.where(plane == 3, _pick(u(_S_OBLIQUE_BASE), 0, 2), plane)
    x0, y0 = _PLANE_X[base], _PLANE_Y[base]
    oblique = plane == 3
    a1 = np.where(u(_S_OBLIQUE_SIGN) < 0.5, -1, 1) * (5 + 25 * u(_S_ANGLE1))
    a2 = -15 + 30 * u(_S_ANGLE2)
    a3 = -15 + 30 * u(_S_ANGLE3)
    rot = _rot(2, a3) @ _rot(1, a2) @ _rot(0, a1)
    x0 = np.where(oblique[:, None], np.einsum("nij,nj->ni", rot, x0), x0)
    y0 = np.where(oblique[:, None], np.einsum("nij,nj->ni", rot, y0), y0)
    # Positions are built on the rounded vectors that the header carries, so IDC's projections
    # of every position onto them are constant to ~1e-6 mm however far the volume extends.
    x = np.round(x0, 6) + 0.0
    y = np.round(y0, 6) + 0.0
    normal = np.cross(x, y)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)

    direction = np.where(u(_S_DIRECTION) < np.where(family == 0, 0.7, 0.3), -1.0, 1.0)
    centre = np.stack([-25 + 50 * u(_S_CENTRE_X), -60 + 100 * u(_S_CENTRE_Y), -700 + 800 * u(_S_CENTRE_Z)], axis=1)
    half_extent = (n_index - 1) * spacing / 2
    origin = (centre - (cols * ps / 2)[:, None] * x - (rows * ps / 2)[:, None] * y
              - (direction * half_extent)[:, None] * normal)

    # --- fault parameters (each drawn for every series; only the chosen fault's are used)
    uw, us, uk, ua = u(_S_WHERE), u(_S_SIZE), u(_S_KIND), u(_S_ANGLE_F)
    sign = np.where(u(_S_SIGN) < 0.5, -1.0, 1.0)
    j = _pick(uw, 0, n_index - 1)                       # any instance
    j_interior = _pick(uw, 1, n_index - 1)              # not the first
    m = np.where(fault == _MISSING, np.minimum(_pick(us, 1, 3), n_index - 3), 0)
    j = np.where(fault == _MISSING, _pick(uw, 1, n_index - 1 - m), j)
    j = np.where((fault == _DUPLICATE) | (fault == _VARIABLE), j_interior, j)
    j = np.where(fault == _LOCALIZER, n_index, j)       # the appended instance
    j = np.where(np.isin(fault, [_NONE, _SINGLE, _GANTRY, _NONORTHO, _MULTI4D]), -1, j)

    delta = np.where(fault == _VARIABLE, sign * (0.2 + 0.3 * us) * spacing, 0.0)
    tilt = np.where(fault == _GANTRY, sign * np.round(5 + 25 * us, 1), 0.0)
    # IDC's verdict on small variable spacing / tilt is computed below; keep them off the
    # tolerance edge so six-decimal rounding of positions cannot flip it.
    dev = np.abs(delta) * np.maximum(n_index - 2, 1) / np.maximum(n_index - 1, 1)
    var_expected = np.abs(spacing + delta / np.maximum(n_index - 1, 1))
    near = (fault == _VARIABLE) & (np.abs(dev - RELATIVE_SLICE_TOLERANCE * var_expected) < 1e-4)
    delta = np.where(near, delta * 1.01, delta)
    col_range = (n_index - 1) * spacing * np.abs(np.tan(np.radians(tilt)))
    near = (fault == _GANTRY) & (np.abs(col_range - IN_PLANE_TOLERANCE) < 1e-4)
    tilt = np.where(near, tilt + np.sign(tilt) * 0.1, tilt)

    shift_mm = 1 + 4 * us
    phi = 2 * np.pi * ua
    shift = np.where((fault == _SHIFT)[:, None],
                     (shift_mm * np.cos(phi))[:, None] * x + (shift_mm * np.sin(phi))[:, None] * y, 0.0)
    kind = np.minimum((uk * 3).astype(np.int64), 2)
    temporal = np.minimum(_pick(us, 2, 4), n_index // 2)
    stack = np.where(fault == _MULTI4D, -(-n_index // np.maximum(temporal, 1)), 0)
    n_stacks = np.where(fault == _MULTI4D, -(-n_index // np.maximum(stack, 1)), 0)

    # --- the alternative orientation an odd instance carries
    theta = sign * (5 + 25 * ua)                        # mixed_orientation: tilt about the row direction
    t = np.radians(theta)[:, None]
    y_mixed = np.cos(t) * y + np.sin(t) * normal
    loc_plane = np.where((base == 1) & ~oblique, 0, 1)  # a coronal scout; axial for coronal series
    x_loc, y_loc = _PLANE_X[loc_plane], _PLANE_Y[loc_plane]
    alt_x = np.where((fault == _LOCALIZER)[:, None], x_loc, x)
    alt_y = np.where((fault == _LOCALIZER)[:, None], y_loc, np.where((fault == _MIXED)[:, None], y_mixed, y))
    localizer_pos = centre - 250.0 * x_loc - 250.0 * y_loc
    # non_orthogonal_orientation: the column vector leans 10-30 degrees toward the row vector.
    lean = np.radians(sign * (10 + 20 * ua))[:, None]
    y_header = np.where((fault == _NONORTHO)[:, None], np.cos(lean) * y + np.sin(lean) * x, y)
    iop = np.hstack([x, y_header, alt_x, alt_y])

    factor = 1 + sign * (0.05 + 0.25 * ua)
    alt_ps = np.where(fault == _PIXSPACING, np.round(ps * factor, 6), ps)
    alt_rows = np.where(rows >= 256, rows // 2, rows * 2)
    alt_cols = np.where(cols >= 256, cols // 2, cols * 2)

    # --- header strings per series
    sop_h = _series_hash(uids, "idc-qc-sop") | np.uint64(1 << 63)  # 20 digits, no leading zero
    sop_prefix = pa.array([f"2.25.{int(v)}" for v in sop_h], pa.string())
    thickness = pa.array(_short(spacing), pa.string())
    echo_values = np.round(2 + 118 * u(_S_ECHO), 2)
    echo = pa.array([s if f == 1 else None for s, f in zip(_short(echo_values), family)], pa.string())
    gantry = pa.array([(f"{tl:.1f}" if fl == 0 else None) for tl, fl in zip(tilt + 0.0, family)], pa.string())

    # --- written counts, truth
    n_written = n_index - m + (fault == _LOCALIZER)
    fault_instance = np.where(j >= 0, j + 1, -1)
    fault_instance = np.where(fault == _MISSING, j + 1, fault_instance)  # first dropped InstanceNumber
    in_scope = fault != _LOCALIZER
    regular = np.zeros(S, dtype=np.int8)
    regular[fault == _NONE] = 1
    regular[(fault == _SINGLE) | ~in_scope] = -1
    # missing_slices: the gap interval and the regular ones deviate from the span-derived spacing.
    nw = np.maximum(n_written - 1, 1)
    miss_dev = spacing * m * np.maximum(n_written - 2, 1) / nw
    miss_expected = spacing * (n_written - 1 + m) / nw
    regular[(fault == _MISSING) & (miss_dev < RELATIVE_SLICE_TOLERANCE * miss_expected)] = 1
    var_dev = np.abs(delta) * np.maximum(n_index - 2, 1) / np.maximum(n_index - 1, 1)
    var_expected = np.abs(spacing + delta / np.maximum(n_index - 1, 1))
    regular[(fault == _VARIABLE) & (var_dev < RELATIVE_SLICE_TOLERANCE * var_expected)] = 1
    col_range = (n_index - 1) * spacing * np.abs(np.tan(np.radians(tilt)))
    regular[(fault == _GANTRY) & (col_range < IN_PLANE_TOLERANCE)] = 1

    idc_check = [_IDC_CHECK[f] if e == 0 else None for f, e in zip(fault, regular)]
    for i in np.flatnonzero(fault == _SHIFT):  # the larger of the two in-plane components fails
        if abs(np.cos(phi[i])) < abs(np.sin(phi[i])):
            idc_check[i] = "consistent_in_plane_col"
    detail: list = []
    for i in range(S):
        f = fault[i]
        if f in (_NONE, _SINGLE):
            detail.append(None)
        elif f == _MISSING:
            detail.append(f"count={m[i]};first_instance_number={j[i] + 1};gap_mm={(m[i] + 1) * spacing[i]:g}")
        elif f == _DUPLICATE:
            detail.append(f"instance_number={j[i] + 1};copies_instance_number={j[i]}")
        elif f == _VARIABLE:
            detail.append(f"after_instance_number={j[i]};delta_mm={delta[i]:.6f}")
        elif f == _GANTRY:
            detail.append(f"tilt_deg={tilt[i]:.1f};in_plane_col_range_mm={col_range[i]:.6f}")
        elif f == _MIXED:
            detail.append(f"instance_number={j[i] + 1};rotation_deg={theta[i]:.3f}")
        elif f == _NONORTHO:
            detail.append(f"row_col_angle_deg={90 - abs(np.degrees(lean[i, 0])):.3f}")
        elif f == _PIXSPACING:
            detail.append(f"instance_number={j[i] + 1};pixel_spacing={alt_ps[i]:.6f}")
        elif f == _DIMS:
            detail.append(f"instance_number={j[i] + 1};rows={alt_rows[i]};columns={alt_cols[i]}")
        elif f == _SHIFT:
            detail.append(f"instance_number={j[i] + 1};shift_mm={shift_mm[i]:.3f}")
        elif f == _MALFORMED:
            detail.append(f"instance_number={j[i] + 1};kind={_MALFORMED_KINDS[kind[i]]}")
        elif f == _LOCALIZER:
            detail.append(f"instance_number={j[i] + 1};plane={_PLANES[loc_plane[i]]}")
        elif f == _MULTI4D:
            detail.append(f"temporal_positions={n_stacks[i]};positions_per_stack={stack[i]}")

    return _Plan(
        meta=meta, family=family, n_index=n_index, n_written=n_written, fault=fault, j=j, m=m, stack=stack,
        kind=kind, plane=plane, spacing=spacing, direction=direction, x=x, y=y, normal=normal, origin=origin,
        delta=delta, tilt=tilt, shift=shift, localizer_pos=localizer_pos, rows=rows, cols=cols,
        alt_rows=alt_rows, alt_cols=alt_cols, iop=_ds(iop.reshape(-1)),
        pixel_spacing=_ds(np.stack([ps, ps, alt_ps, alt_ps], axis=1).reshape(-1)),
        sop_prefix=sop_prefix, thickness=thickness, echo=echo, gantry=gantry, detail=detail,
        fault_instance=fault_instance, expected_in_scope=in_scope, expected_regular=regular, idc_check=idc_check,
    )


# ----------------------------------------------------------------------------------------------
# instance rows


# ImageType per family (CT, MR, PT) and for the localizer, flattened: values, starts, lengths.
_IMAGE_TYPE_VALUES = pa.array(["ORIGINAL", "PRIMARY", "AXIAL", "ORIGINAL", "PRIMARY", "M", "ND",
                               "ORIGINAL", "PRIMARY", "ORIGINAL", "PRIMARY", "LOCALIZER"])
_IMAGE_TYPE_START = np.array([0, 3, 7, 9])
_IMAGE_TYPE_LEN = np.array([3, 4, 2, 3])


def _instances(plan: _Plan, lo: int, hi: int) -> pa.Table:
    """The instance rows of series ``lo:hi`` (in plan order), as an Arrow table."""
    nw = plan.n_written[lo:hi]
    total = int(nw.sum())
    local = np.repeat(np.arange(hi - lo), nw)
    g = local + lo
    r = np.arange(total) - np.repeat(np.cumsum(nw) - nw, nw)
    fault, j = plan.fault[g], plan.j[g]

    # slice index along the normal and InstanceNumber
    is_missing, is_4d = fault == _MISSING, fault == _MULTI4D
    p = np.where(is_missing, r + plan.m[g] * (r >= j), r)
    inst = p + 1
    stack = np.maximum(plan.stack[g], 1)
    p = np.where(is_4d, r % stack, p)
    temporal = np.where(is_4d, r // stack + 1, 0)
    p = np.where((fault == _DUPLICATE) & (r == j), j - 1, p)
    at_j = r == j

    offset = p * plan.spacing[g] * plan.direction[g]
    offset = offset + np.where((fault == _VARIABLE) & (p >= j), plan.delta[g] * plan.direction[g], 0.0)
    pos = plan.origin[g] + offset[:, None] * plan.normal[g]
    tan_tilt = np.tan(np.radians(plan.tilt[g]))
    pos += (p * plan.spacing[g] * plan.direction[g] * tan_tilt)[:, None] * plan.y[g]
    pos += np.where(((fault == _SHIFT) & at_j)[:, None], plan.shift[g], 0.0)
    localizer = (fault == _LOCALIZER) & at_j
    pos[localizer] = plan.localizer_pos[g[localizer]]

    # ImagePositionPatient with malformed rows: ['abc', y, z], [x, y] or NULL
    values = _ds(pos.reshape(-1))
    malformed = (fault == _MALFORMED) & at_j
    kind = np.where(malformed, plan.kind[g], -1)
    abc = np.zeros((total, 3), dtype=bool)
    abc[:, 0] = kind == 0
    keep = np.ones((total, 3), dtype=bool)
    keep[kind == 1, 2] = False
    keep[kind == 2, :] = False
    values = pc.if_else(pa.array(abc.reshape(-1)), pa.scalar("abc"), values).filter(pa.array(keep.reshape(-1)))
    offsets = np.zeros(total + 1, dtype=np.int32)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    ipp = pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(kind == 2))

    n = hi - lo
    alt_iop = ((fault == _MIXED) | (fault == _LOCALIZER)) & at_j
    iop = _lists(plan.iop.slice(12 * lo, 12 * n), local * 12 + 6 * alt_iop, np.full(total, 6))
    alt_ps = (fault == _PIXSPACING) & at_j
    spacing = _lists(plan.pixel_spacing.slice(4 * lo, 4 * n), local * 4 + 2 * alt_ps, np.full(total, 2))
    odd_dims = (fault == _DIMS) & at_j
    rows = np.where(odd_dims, plan.alt_rows[g], plan.rows[g])
    cols = np.where(odd_dims, plan.alt_cols[g], plan.cols[g])
    code = np.where(localizer, 3, plan.family[g])
    image_type = _lists(_IMAGE_TYPE_VALUES, _IMAGE_TYPE_START[code], _IMAGE_TYPE_LEN[code])

    inst_str = pc.cast(pa.array(inst), pa.string())
    sop = pc.binary_join_element_wise(plan.sop_prefix.slice(lo, n).take(pa.array(local)),
                                      pc.utf8_lpad(inst_str, 5, "0"), "")
    temporal_str = pc.if_else(pa.array(is_4d), pc.cast(pa.array(temporal), pa.string()),
                              pa.scalar(None, pa.string()))
    acquisition = pc.if_else(pa.array(is_4d), temporal_str, pa.scalar("1"))

    meta = plan.meta
    per_series = lambda array: _dict_take(array.slice(lo, n), local)  # noqa: E731 - short aliases keep the column list below readable
    col = lambda name: per_series(meta.column(name).chunk(0))  # noqa: E731 - plan.meta is one chunk
    data = {
        "SeriesInstanceUID": col("SeriesInstanceUID"),
        "SOPInstanceUID": sop,
        "SOPClassUID": col("SOPClassUID"),
        "StudyInstanceUID": col("StudyInstanceUID"),
        "PatientID": col("PatientID"),
        "collection_id": col("collection_id"),
        "Modality": col("Modality"),
        "Manufacturer": col("Manufacturer"),
        "ManufacturerModelName": col("ManufacturerModelName"),
        "BodyPartExamined": col("BodyPartExamined"),
        "PatientAge": col("PatientAge"),
        "PatientSex": col("PatientSex"),
        "SeriesDescription": col("SeriesDescription"),
        "ImageType": image_type,
        "ImagePositionPatient": ipp,
        "ImageOrientationPatient": iop,
        "PixelSpacing": spacing,
        "Rows": pa.array(rows, pa.int64()),
        "Columns": pa.array(cols, pa.int64()),
        "SliceThickness": per_series(plan.thickness),
        "InstanceNumber": inst_str,
        "AcquisitionNumber": acquisition,
        "TemporalPositionIdentifier": temporal_str,
        "EchoTime": per_series(plan.echo),
        "GantryDetectorTilt": per_series(plan.gantry),
        **{name: col(name) for name in WIDER_COLUMNS},
    }
    return pa.table({name: data[name] for name in (*INSTANCE_COLUMNS, *WIDER_COLUMNS)})


def _truth(plan: _Plan) -> pa.Table:
    meta = plan.meta
    null_if = lambda values, mask: pa.array(values, mask=mask)  # noqa: E731 - as above
    data = {
        "SeriesInstanceUID": meta.column("SeriesInstanceUID"),
        "Modality": meta.column("Modality"),
        "collection_id": meta.column("collection_id"),
        "instance_count_index": pa.array(plan.n_index, pa.int64()),
        "n_instances_written": pa.array(plan.n_written, pa.int64()),
        "fault": pa.array([_LABELS[f] for f in plan.fault], pa.string()),
        "fault_detail": pa.array(plan.detail, pa.string()),
        "fault_instance_number": null_if(plan.fault_instance, plan.fault_instance < 0),
        "plane": pa.array(np.array(_PLANES)[plan.plane].tolist(), pa.string()),
        "spacing_mm": pa.array(plan.spacing, pa.float64()),
        "tilt_degrees": null_if(plan.tilt + 0.0, plan.fault != _GANTRY),
        "expected_idc_in_scope": pa.array(plan.expected_in_scope, pa.bool_()),
        "expected_regularly_spaced_3d_volume": null_if(plan.expected_regular == 1, plan.expected_regular < 0),
        "idc_check": pa.array(plan.idc_check, pa.string()),
    }
    return pa.table(data, schema=pa.schema(list(TRUTH_COLUMNS.items())))


def _build_part(plan: _Plan, lo: int, hi: int, path: Path) -> tuple[int, str]:
    size = _write(_instances(plan, lo, hi), path)
    return size, sha256_file(path)  # read back on the worker, while the file is in the page cache


def _finish(item: tuple[Future, int], progress: Callable[[int, int], None] | None, total: int) -> tuple[int, str]:
    size, digest = item[0].result()
    if progress:
        progress(item[1], total)
    return size, digest


#: Key-value metadata in the footer of every parquet file synth writes: the input's
#: provenance, which ``idc-qc build`` reads (idc_qc/provenance.py) so that everything shown
#: from the build says its faults were injected. Constant, so the bytes stay deterministic.
PARQUET_PROVENANCE = {"idc_qc.input_kind": "synthetic", "idc_qc.generator": "idc_qc.synth"}


def _write(table: pa.Table, path: Path) -> int:
    # No Arrow schema blob and fixed settings: the bytes depend only on the rows. The
    # provenance goes in as footer key-value metadata (store_schema=False would drop the
    # schema's own metadata).
    with pq.ParquetWriter(path, table.schema, compression="zstd", compression_level=3, store_schema=False,
                          write_statistics=True) as writer:
        writer.write_table(table, row_group_size=256 * 1024)
        writer.add_key_value_metadata(PARQUET_PROVENANCE)
    return path.stat().st_size


#: The orders synth writes instances in (``synthesize(order=...)``, ``idc-qc synth --order``).
ORDERS = ("series", "shuffled")


def _shuffle_parts(instances_dir: Path, files: list[str], seed: int) -> dict[str, dict]:
    """Rewrite the series-ordered parts with the same rows in an arbitrary order: row r goes to
    part ``hash(SOPInstanceUID, seed) % len(files)`` and the rows of a part are sorted by that
    hash, so every part holds instances of nearly every series, interleaved. One pass per part
    over all parts (DuckDB reads only the matching rows' columns); the series-ordered parts are
    moved aside first and removed at the end."""
    import duckdb

    aside = instances_dir.parent / f".{instances_dir.name}.series-order"
    aside.mkdir(exist_ok=True)
    for name in files:
        os.replace(instances_dir / name, aside / name)
    sources = "[" + ", ".join("'" + str(aside / name).replace("'", "''") + "'" for name in files) + "]"
    written: dict[str, dict] = {}
    try:
        with duckdb.connect() as con:
            con.execute("set preserve_insertion_order = true")
            for k, name in enumerate(files):
                table = con.sql(
                    f"select * exclude (shuffle_key) from (select *, hash(SOPInstanceUID, {int(seed)}) as shuffle_key "
                    f"from read_parquet({sources})) where shuffle_key % {len(files)} = {k} order by shuffle_key"
                ).to_arrow_table()
                size = _write(table, instances_dir / name)
                written[f"instances/{name}"] = {"bytes": size, "sha256": sha256_file(instances_dir / name)}
    finally:
        for name in files:
            (aside / name).unlink(missing_ok=True)
        aside.rmdir()
    return written


# ----------------------------------------------------------------------------------------------
# public entry point


def _check_args(out_dir, series_limit, sample_fraction, modalities, index_path) -> tuple[Path, Path]:
    if series_limit is not None and (isinstance(series_limit, bool) or int(series_limit) != series_limit
                                     or series_limit < 1):
        raise ValueError(f"series_limit must be a positive integer, got {series_limit!r}")
    if sample_fraction is not None and not (0 < float(sample_fraction) <= 1):
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction!r}")
    if isinstance(modalities, str):
        modalities = (modalities,)
    if not modalities:
        raise ValueError("modalities is empty; choose from CT, MR, PT")
    for m in modalities:
        if m not in SOP_CLASSES:
            raise ValueError(f"unknown modality {m!r}; choose from {', '.join(SOP_CLASSES)}")
    if index_path is None:
        import idc_index_data

        index_path = Path(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)
    index_path = Path(index_path)
    if not index_path.is_file():
        raise ValueError(f"IDC index parquet {str(index_path)!r} does not exist")
    out_dir = Path(out_dir)
    # Fail before the index is read, without creating anything: the nearest existing
    # ancestor must be a writable folder.
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write to out_dir {str(out_dir)!r}: {str(existing)!r} is not a writable folder")
    return out_dir, index_path


def synthesize(
    out_dir: Path,
    *,
    series_limit: int | None = None,
    sample_fraction: float | None = None,
    modalities: tuple[str, ...] = ("CT", "MR", "PT"),
    collections: tuple[str, ...] | None = None,
    seed: int = 0,
    rates: FaultRates = FaultRates(),
    index_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
    order: str = "series",
) -> SynthResult:
    """Write synthetic instance metadata and its truth for real IDC single-frame series.

    Parameters
    ----------
    out_dir : Path
        Output folder; gets ``instances/part-NNNNN.parquet``, ``truth.parquet`` and
        ``synth_manifest.json`` (every file written, with its size and SHA-256, and the
        arguments). It must be empty or absent unless ``overwrite``.
    series_limit : int, optional
        Keep this many series: those ranked first by a seeded hash of their UID.
    sample_fraction : float, optional
        Keep each series with this probability (seeded hash of its UID); applied before
        ``series_limit`` when both are given.
    modalities : tuple of str
        ``CT``, ``MR`` and/or ``PT``: selects series by SOP class (CT, MR, PET Image
        Storage). The written Modality is the series' own (a few CT Image Storage series
        are e.g. FUSION).
    collections : tuple of str, optional
        Restrict to these IDC ``collection_id`` values.
    seed : int
        Seed of every random choice; the same seed writes the same rows.
    rates : FaultRates
        Per-series probability of each injected fault.
    index_path : Path, optional
        The ``idc_index.parquet`` to read; the installed ``idc-index-data`` by default.
    progress : callable, optional
        ``progress(done_series, total_series)``, called after each part is written.
    order : str
        ``series`` (default): each part holds whole series, their instances next to each other.
        ``shuffled``: the same rows in an arbitrary order across parts and row groups, as a
        BigQuery export of ``dicom_all`` or a parallel ingest writes them (a hash of the
        SOPInstanceUID and the seed decides, so the same seed writes the same bytes).
    overwrite : bool
        Replace an earlier synth run in ``out_dir``: remove only the files its
        ``synth_manifest.json`` lists (unchanged since), and refuse when a file synth did not
        write is in ``out_dir/instances`` or at ``truth.parquet``. Other files are left alone.

    Returns
    -------
    SynthResult

    Raises
    ------
    ValueError
        On an unknown modality or collection, a bad limit/fraction, an empty selection,
        a missing index file or an unwritable ``out_dir``; :class:`SynthOutputError` (a
        ValueError) when ``out_dir`` is not synth's to write (see ``overwrite``).
    """
    started = time.perf_counter()
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if not isinstance(rates, FaultRates):
        raise ValueError(f"rates must be a FaultRates, got {type(rates).__name__}")
    if isinstance(modalities, str):
        modalities = (modalities,)
    modalities = tuple(modalities)
    if isinstance(collections, str):
        collections = (collections,)
    if collections is not None and not tuple(collections):
        raise ValueError("collections is empty; pass None for every collection")
    out_dir, index_path = _check_args(out_dir, series_limit, sample_fraction, modalities, index_path)
    remove = claim_out_dir(out_dir, overwrite)
    seed = int(seed)

    meta = _load_series(index_path, modalities, tuple(collections) if collections is not None else None)
    if meta.num_rows:
        uids = meta.column("SeriesInstanceUID").to_pylist()
        u = _uniform(_series_hash(uids, f"idc-qc-sample:{seed}"), _S_SAMPLE)
        keep = np.ones(meta.num_rows, dtype=bool)
        if sample_fraction is not None:
            keep &= u < float(sample_fraction)
        if series_limit is not None and keep.sum() > series_limit:
            ranked = np.flatnonzero(keep)[np.argsort(u[keep], kind="stable")]
            keep[:] = False
            keep[ranked[: int(series_limit)]] = True
        meta = meta.filter(pa.array(keep))
    if meta.num_rows == 0:
        what = f"modalities {', '.join(modalities)}" + (f", collections {', '.join(collections)}" if collections else "")
        raise ValueError(f"the selection ({what}, sample_fraction={sample_fraction}) holds no series")

    plan = _plan(meta, seed, rates)


    # Parts of whole series, about ROWS_PER_PART rows each.
    total_series = meta.num_rows
    ends = np.cumsum(plan.n_written)
    bounds = [0]
    while bounds[-1] < total_series:
        done_rows = ends[bounds[-1] - 1] if bounds[-1] else 0
        nxt = int(np.searchsorted(ends, done_rows + ROWS_PER_PART, side="left")) + 1
        bounds.append(min(max(nxt, bounds[-1] + 1), total_series))

    # Parts are independent: build and write them on WORKERS threads (numpy, Arrow and the
    # parquet writer release the GIL), at most WORKERS in flight to bound memory, and report
    # progress in part order.
    part_bytes = 0
    files = [f"part-{k:05d}.parquet" for k in range(len(bounds) - 1)]
    arguments = {"series_limit": series_limit, "sample_fraction": sample_fraction, "modalities": list(modalities),
                 "collections": list(collections) if collections is not None else None, "seed": seed,
                 "rates": rates.as_dict(), "index_path": str(index_path), "order": order}
    provisional = {"generator": GENERATOR, "generator_version": _GENERATOR_VERSION, "complete": False,
                   "arguments": arguments,
                   "files": {**{f"instances/{name}": None for name in files}, "truth.parquet": None}}
    instances_dir = prepare_out_dir(out_dir, remove, provisional)
    if progress:
        progress(0, total_series)
    written: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        window: deque[tuple[Future, int]] = deque()

        def finish() -> int:
            size, digest = _finish(window[0], progress, total_series)
            written[f"instances/{files[len(written)]}"] = {"bytes": size, "sha256": digest}
            window.popleft()
            return size

        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            if len(window) >= WORKERS:
                part_bytes += finish()
            window.append((pool.submit(_build_part, plan, lo, hi, instances_dir / files[k]), hi))
        while window:
            part_bytes += finish()
    if order == "shuffled":
        written = _shuffle_parts(instances_dir, files, seed)
        part_bytes = sum(entry["bytes"] for entry in written.values())

    truth_path = out_dir / "truth.parquet"
    truth_bytes = _write(_truth(plan), truth_path)

    labels, counts = np.unique(plan.fault, return_counts=True)
    import idc_index_data

    written["truth.parquet"] = {"bytes": truth_bytes, "sha256": sha256_file(truth_path)}
    manifest = {
        "generator": GENERATOR,
        "generator_version": _GENERATOR_VERSION,
        "input_kind": "synthetic",  # read by idc-qc build (idc_qc/provenance.py)
        "complete": True,
        "arguments": arguments,
        "files": written,
        "seed": seed,
        "rates": rates.as_dict(),
        "selection": {
            "series_limit": series_limit,
            "sample_fraction": sample_fraction,
            "modalities": list(modalities),
            "collections": list(collections) if collections is not None else None,
            "sop_classes": [SOP_CLASSES[m] for m in modalities],
        },
        "idc_index_data_version": idc_index_data.__version__,
        "index_path": str(index_path),
        "series": int(total_series),
        "instances": int(plan.n_written.sum()),
        "instances_in_index": int(plan.n_index.sum()),
        "faults": {_LABELS[f]: int(c) for f, c in zip(labels, counts)},
        "expected_regularly_spaced_3d_volume": {
            "true": int((plan.expected_regular == 1).sum()),
            "false": int((plan.expected_regular == 0).sum()),
            "null": int((plan.expected_regular == -1).sum()),
        },
        "instance_parts": files,
        "truth": truth_path.name,
    }
    manifest_path = out_dir / MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    return SynthResult(
        out_dir=out_dir,
        instances_glob=str(instances_dir / "*.parquet"),
        truth_path=truth_path,
        series=int(total_series),
        instances=int(plan.n_written.sum()),
        bytes_written=part_bytes + truth_bytes + manifest_path.stat().st_size,
        seconds=time.perf_counter() - started,
    )
