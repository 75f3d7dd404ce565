"""Multi-frame objects: one row per frame, its geometry resolved from the functional groups.

Enhanced CT/MR/PET objects (and every object with functional groups) keep a frame's position,
orientation and pixel measures in the Per-frame Functional Groups Sequence (5200,9230), or
once for all frames in the Shared Functional Groups Sequence (5200,9229); a per-frame macro
takes precedence over the shared one (PS3.3 C.7.6.16). The instance row already holds both
sequences as JSON (idc_qc/ingest/dataset.py), so the frames are read from the row.

The frames table (``DIR/frames/part-*.parquet``, the same part names as the instances) is
written by ``idc-qc ingest``; a build of the output reads it (the run var ``frames``, staging model
``stg_dicom__frames``) and judges each such object frame by frame (``int_instances__slices``).
"""

from __future__ import annotations

import json
from typing import Any

#: (functional group sequence, attribute inside it, frames column)
_RESOLVED = (
    ("PlanePositionSequence", "ImagePositionPatient", "ImagePositionPatient"),
    ("PlaneOrientationSequence", "ImageOrientationPatient", "ImageOrientationPatient"),
    ("PixelMeasuresSequence", "PixelSpacing", "PixelSpacing"),
    ("PixelMeasuresSequence", "SliceThickness", "SliceThickness"),
    ("PixelMeasuresSequence", "SpacingBetweenSlices", "SpacingBetweenSlices"),
    ("FrameContentSequence", "StackID", "StackID"),
    ("FrameContentSequence", "InStackPositionNumber", "InStackPositionNumber"),
    ("FrameContentSequence", "TemporalPositionIndex", "TemporalPositionIndex"),
    ("FrameContentSequence", "DimensionIndexValues", "DimensionIndexValues"),
)


def frames_schema():
    import pyarrow as pa

    strings = pa.list_(pa.string())
    return pa.schema([
        ("SOPInstanceUID", pa.string()), ("SeriesInstanceUID", pa.string()), ("frame_number", pa.int64()),
        ("ImagePositionPatient", strings), ("ImageOrientationPatient", strings), ("PixelSpacing", strings),
        ("SliceThickness", pa.string()), ("SpacingBetweenSlices", pa.string()), ("StackID", pa.string()),
        ("InStackPositionNumber", pa.int64()), ("TemporalPositionIndex", pa.int64()),
        ("DimensionIndexValues", pa.list_(pa.int64())), ("source_path", pa.string()),
    ])


def _first(items: Any) -> dict:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def _value(groups: dict, sequence: str, attribute: str) -> Any:
    return _first(groups.get(sequence)).get(attribute)


def frame_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The frames of one instance row (none when it has no per-frame functional groups)."""
    per_frame_text = row.get("PerFrameFunctionalGroupsSequence")
    if not per_frame_text:
        return []
    per_frame = json.loads(per_frame_text)
    shared = _first(json.loads(row["SharedFunctionalGroupsSequence"])) if row.get(
        "SharedFunctionalGroupsSequence") else {}
    frames = []
    for number, groups in enumerate(per_frame, start=1):
        frame: dict[str, Any] = {"SOPInstanceUID": row.get("SOPInstanceUID"),
                                 "SeriesInstanceUID": row.get("SeriesInstanceUID"), "frame_number": number,
                                 "source_path": row.get("source_path")}
        for sequence, attribute, column in _RESOLVED:
            value = _value(groups, sequence, attribute) if sequence in groups else _value(shared, sequence, attribute)
            frame[column] = value
        for column in ("InStackPositionNumber", "TemporalPositionIndex"):
            if frame[column] is not None:
                frame[column] = int(frame[column])
        if frame["DimensionIndexValues"] is not None:
            frame["DimensionIndexValues"] = [int(v) for v in frame["DimensionIndexValues"]]
        frames.append(frame)
    return frames


def frames_table(frames: list[dict[str, Any]]):
    import pyarrow as pa

    schema = frames_schema()
    return pa.table({f.name: pa.array([fr.get(f.name) for fr in frames], f.type) for f in schema}, schema=schema)
