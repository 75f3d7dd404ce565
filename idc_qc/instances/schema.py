"""The one declaration of the instance-level input: the `dicom_all` columns idc-qc reads.

Everything that names these columns reads them from here: the contract check
(:mod:`idc_qc.instances.contract`), ``idc-qc synth``, the staging model
``stg_dicom__instances`` and its yml (a test compares them), the table in
docs/instance_contract.md (generated: ``python -m idc_qc.instances docs/instance_contract.md``)
and the test-data writers.

Kinds are the types staging casts to: ``string`` (VARCHAR / STRING), ``string_array``
(a list of strings, as IDC stores multi-valued DICOM attributes) and ``integer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

#: The kinds of column staging knows how to read (the ``kind`` argument of macros/instance_column.sql).
STRING, STRING_ARRAY, INTEGER = "string", "string_array", "integer"
KINDS = (STRING, STRING_ARRAY, INTEGER)


@dataclass(frozen=True)
class InstanceColumn:
    """One column of the instance input.

    Attributes
    ----------
    name : str
        The column name: the DICOM keyword, as in IDC's ``dicom_all`` (matched case-insensitively).
    kind : str
        ``string``, ``string_array`` or ``integer``.
    required : bool
        Whether a file without it is refused (optional columns become typed NULLs).
    tag : str or None
        The DICOM tag ``(gggg,eeee)``; None for IDC's own columns (``collection_id``).
    description : str
        One line; also the column's description in the staging yml.
    """

    name: str
    kind: str
    required: bool
    tag: str | None
    description: str


def _c(name: str, kind: str, required: bool, tag: str | None, description: str) -> InstanceColumn:
    assert kind in KINDS, kind
    return InstanceColumn(name, kind, required, tag, description)


#: Every column, in the order staging selects them.
COLUMNS: tuple[InstanceColumn, ...] = (
    # identifiers
    _c("SeriesInstanceUID", STRING, True, "(0020,000E)", "DICOM SeriesInstanceUID (0020,000E)."),
    _c("SOPInstanceUID", STRING, True, "(0008,0018)", "DICOM SOPInstanceUID (0008,0018); identifies the instance."),
    _c("SOPClassUID", STRING, True, "(0008,0016)",
       "DICOM SOPClassUID (0008,0016), e.g. 1.2.840.10008.5.1.4.1.1.2 for CT Image Storage."),
    _c("StudyInstanceUID", STRING, False, "(0020,000D)", "DICOM StudyInstanceUID (0020,000D)."),
    _c("PatientID", STRING, False, "(0010,0020)",
       "DICOM PatientID (0010,0020); in IDC's TCGA collections the TCGA patient barcode."),
    _c("collection_id", STRING, False, None, "IDC collection identifier (IDC column, not a DICOM attribute)."),
    _c("Modality", STRING, False, "(0008,0060)", "DICOM Modality (0008,0060)."),
    # who and what
    _c("Manufacturer", STRING, False, "(0008,0070)", "DICOM Manufacturer (0008,0070) as written."),
    _c("ManufacturerModelName", STRING, False, "(0008,1090)", "DICOM ManufacturerModelName (0008,1090)."),
    _c("BodyPartExamined", STRING, False, "(0018,0015)", "DICOM BodyPartExamined (0018,0015)."),
    _c("PatientAge", STRING, False, "(0010,1010)", "DICOM PatientAge (0010,1010), an Age String such as 065Y."),
    _c("PatientSex", STRING, False, "(0010,0040)", "DICOM PatientSex (0010,0040)."),
    _c("SeriesDescription", STRING, False, "(0008,103E)", "DICOM SeriesDescription (0008,103E)."),
    _c("ImageType", STRING_ARRAY, False, "(0008,0008)",
       "DICOM ImageType (0008,0008) values, e.g. [ORIGINAL, PRIMARY, AXIAL]."),
    # geometry
    _c("ImagePositionPatient", STRING_ARRAY, True, "(0020,0032)",
       "DICOM ImagePositionPatient (0020,0032), three decimal strings (mm)."),
    _c("ImageOrientationPatient", STRING_ARRAY, True, "(0020,0037)",
       "DICOM ImageOrientationPatient (0020,0037), six direction cosines as decimal strings."),
    _c("PixelSpacing", STRING_ARRAY, False, "(0028,0030)",
       "DICOM PixelSpacing (0028,0030), row and column spacing as decimal strings (mm)."),
    _c("Rows", INTEGER, False, "(0028,0010)", "DICOM Rows (0028,0010)."),
    _c("Columns", INTEGER, False, "(0028,0011)", "DICOM Columns (0028,0011)."),
    _c("NumberOfFrames", STRING, False, "(0028,0008)",
       "DICOM NumberOfFrames (0028,0008); set for multi-frame objects."),
    _c("SliceThickness", STRING, False, "(0018,0050)",
       "DICOM SliceThickness (0018,0050), the slab thickness (not the slice spacing)."),
    _c("SpacingBetweenSlices", STRING, False, "(0018,0088)", "DICOM SpacingBetweenSlices (0018,0088)."),
    _c("GantryDetectorTilt", STRING, False, "(0018,1120)", "DICOM GantryDetectorTilt (0018,1120), degrees."),
    # what tells several stacks in one series apart (4D, multi-echo, diffusion)
    _c("InstanceNumber", STRING, False, "(0020,0013)", "DICOM InstanceNumber (0020,0013)."),
    _c("AcquisitionNumber", STRING, False, "(0020,0012)", "DICOM AcquisitionNumber (0020,0012)."),
    _c("TemporalPositionIdentifier", STRING, False, "(0020,0100)", "DICOM TemporalPositionIdentifier (0020,0100)."),
    _c("EchoTime", STRING, False, "(0018,0081)", "DICOM EchoTime (0018,0081), ms."),
    _c("DiffusionBValue", STRING, False, "(0018,9087)", "DICOM DiffusionBValue (0018,9087)."),
)

BY_NAME: dict[str, InstanceColumn] = {c.name: c for c in COLUMNS}
#: Columns without which no series can be identified or placed in space: name -> kind.
REQUIRED: dict[str, str] = {c.name: c.kind for c in COLUMNS if c.required}
#: Columns read when present, typed NULLs otherwise: name -> kind.
OPTIONAL: dict[str, str] = {c.name: c.kind for c in COLUMNS if not c.required}
#: Columns by kind (the test-data writers' lists).
STRING_COLUMNS = [c.name for c in COLUMNS if c.kind == STRING]
STRING_ARRAY_COLUMNS = [c.name for c in COLUMNS if c.kind == STRING_ARRAY]
INTEGER_COLUMNS = [c.name for c in COLUMNS if c.kind == INTEGER]

#: What each kind accepts, in words (the contract's error messages and the docs).
ACCEPTS: dict[str, str] = {
    STRING: "a string (VARCHAR) or number",
    INTEGER: "an integer (or a string holding one)",
    STRING_ARRAY: "a list of strings or numbers, e.g. VARCHAR[] as in IDC's dicom_all, or DOUBLE[]",
}
_ACCEPTS_SHORT = {STRING: "string (or number)", INTEGER: "integer, or a string holding one",
                  STRING_ARRAY: "list of strings or numbers"}


def arrow_type(kind: str) -> "pa.DataType":
    """The parquet (Arrow) type idc-qc writes for ``kind``: dicom_all's own types."""
    import pyarrow as pa

    return {STRING: pa.string(), STRING_ARRAY: pa.list_(pa.string()), INTEGER: pa.int64()}[kind]


def arrow_schema(names: list[str] | tuple[str, ...] | None = None) -> "pa.Schema":
    """An Arrow schema of ``names`` (every column by default), in declaration order."""
    import pyarrow as pa

    wanted = set(names) if names is not None else None
    if wanted is not None and not wanted <= BY_NAME.keys():
        raise ValueError(f"not instance columns: {sorted(wanted - BY_NAME.keys())}")
    return pa.schema([(c.name, arrow_type(c.kind)) for c in COLUMNS if wanted is None or c.name in wanted])


# ----------------------------------------------------------------------------------------------
# docs/instance_contract.md: the generated table

DOCS_BEGIN = "<!-- instance columns: generated from idc_qc/instances/schema.py; do not edit by hand -->"
DOCS_END = "<!-- end of generated instance columns -->"


def markdown_table() -> str:
    """The column table of docs/instance_contract.md."""
    lines = ["| column | required | accepted types | DICOM tag | description |", "|---|---|---|---|---|"]
    for c in COLUMNS:
        lines.append(f"| {c.name} | {'yes' if c.required else 'no'} | {_ACCEPTS_SHORT[c.kind]} | "
                     f"{c.tag or '—'} | {c.description} |")
    return "\n".join(lines)


def render_docs(text: str) -> str:
    """``text`` (the docs page) with the block between the markers replaced by :func:`markdown_table`."""
    pattern = re.compile(re.escape(DOCS_BEGIN) + r".*?" + re.escape(DOCS_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError("the docs page has no generated-table markers")
    return pattern.sub(lambda _: f"{DOCS_BEGIN}\n{markdown_table()}\n{DOCS_END}", text)

