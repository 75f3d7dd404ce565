"""One pydicom Dataset -> one row in IDC's ``dicom_all`` shape (docs/ingest.md, "The columns").

Pure and engine-free, so the file reader and a DICOMweb reader (whose JSON metadata becomes a
Dataset with :meth:`pydicom.Dataset.from_json`) share it.

The mapping, decided once per DICOM tag from the standard's dictionary (so a column has the
same type in every file, whatever a file writes):

============================================  ===============================================
DICOM VR                                      column (Arrow / DuckDB / BigQuery)
============================================  ===============================================
AE AS CS DS IS LO LT SH ST UC UI UR UT        string (VARCHAR / STRING), as written, trimmed
TM DT PN AT                                   string, as written (BigQuery's export types TM,
                                              DT and PN; the text is kept here)
DA                                            date (DATE), as dicom_all; unreadable -> NULL
                                              and an errors row
FL FD                                         float64 (DOUBLE / FLOAT64)
US SS UL SL SV UV                             int64 (BIGINT / INT64)
SQ                                            string: JSON text, a list of items, each an
                                              object keyed by keyword (the same mapping inside,
                                              dates as written), private elements under
                                              ``OtherElements``
OB OD OF OL OV OW UN                          not kept (bulk data)
============================================  ===============================================

An attribute whose dictionary value multiplicity is more than one (``2``, ``1-n``, ``3``)
is a list of that type (``ImageType``, ``ImagePositionPatient``, ``PixelSpacing``), even when
a file writes one value, as in dicom_all. One value expected but several written: strings
joined with ``\\`` as written, numbers NULL with an errors row.

Private elements, and standard ones the dictionary has no keyword for (overlay and curve
repeater groups), go to ``OtherElements``: a list of ``{Tag: 'Tag_GGGGEEEE', Data: [values as
strings]}``, binary values as base64.
"""

from __future__ import annotations

import base64
import datetime
import json
import struct
from dataclasses import dataclass
from typing import Any

# How a standard attribute becomes a column (its kind and multiplicity from the dictionary):
# one home, idc_qc/instances/dicom_columns.py, which the query reads too.
from ..instances.dicom_columns import (
    _BINARY_VRS,
    _FLOAT_VRS,
    _INT_VRS,
    DATE,
    FLOAT,
    INT,
    JSON,
    STRING,
    Column,
    arrow_type,
    column_for,
    column_for_keyword,
)

_STRING_VRS = {"AE", "AS", "CS", "DS", "IS", "LO", "LT", "SH", "ST", "UC", "UI", "UR", "UT", "TM", "DT", "PN", "AT"}
#: VRs whose text may use the character set of SpecificCharacterSet.
_TEXT_VRS = {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
#: VRs whose trailing spaces are padding but leading spaces are significant.
_KEEP_LEADING = {"LT", "ST", "UT"}
_STRUCT = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "SV": "q", "UV": "Q", "FL": "f", "FD": "d"}
_INT64_MAX = 2**63 - 1

#: IDC's file-level columns (not DICOM attributes) the reader adds.
FILE_COLUMNS = ("collection_id", "instance_size", "source_path")
OTHER_ELEMENTS = "OtherElements"


__all__ = ["DATE", "FILE_COLUMNS", "FLOAT", "INT", "JSON", "OTHER_ELEMENTS", "STRING", "Column", "ValueProblem",
           "arrow_type", "column_for", "column_for_keyword", "dataset_row", "other_elements_type"]


@dataclass(frozen=True)
class ValueProblem:
    """An attribute that could not be read as its type: its column is NULL in that row."""

    attribute: str
    reason: str


def other_elements_type():
    import pyarrow as pa

    return pa.list_(pa.struct([("Tag", pa.string()), ("Data", pa.list_(pa.string()))]))


# ----------------------------------------------------------------------------------------------
# decoding one element


def _encoding(ds) -> str | list[str]:
    """A Python codec for the text VRs when SpecificCharacterSet is one we decode directly;
    otherwise pydicom's list of encodings (ISO 2022 code extensions and the like), with which
    text elements go through pydicom's own (slower, complete) conversion."""
    raw = ds.get_item(0x00080005) if 0x00080005 in ds else None
    if raw is None:
        return "latin-1"
    value = raw.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    many = isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"
    names = [str(v).strip() for v in (value if many else str(value).split("\\"))]
    names = [n for n in names if n]
    if not names or names == ["ISO_IR 6"] or names == ["ISO_IR 100"]:
        return "latin-1"
    if names == ["ISO_IR 192"]:
        return "utf-8"
    from pydicom.charset import convert_encodings

    return convert_encodings(names)


def _strip(text: str, vr: str) -> str:
    text = text.rstrip(" \x00")
    return text if vr in _KEEP_LEADING else text.lstrip(" ")


def _split_text(raw: bytes, vr: str, codec: str) -> list[str]:
    text = raw.decode(codec, "replace")
    if vr in ("LT", "ST", "UT"):  # no multiplicity: a backslash is text
        return [_strip(text, vr)]
    return [_strip(part, vr) for part in text.split("\\")]


def _numbers(raw: bytes, vr: str, little: bool) -> list[float | int]:
    code = _STRUCT["US" if vr == "US or SS" else vr]
    size = struct.calcsize(code)
    if len(raw) % size:
        raise ValueError(f"{len(raw)} bytes is not a whole number of {vr} values")
    return list(struct.unpack(("<" if little else ">") + code * (len(raw) // size), raw))


def _parse_date(text: str) -> datetime.date:
    digits = text.replace(".", "") if len(text) == 10 else text  # ACR-NEMA's YYYY.MM.DD
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"{text!r} is not a DICOM date (YYYYMMDD)")
    return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _element_values(ds, tag: int, codec) -> tuple[str, list[Any]]:
    """(VR, values) of one non-sequence element: strings for string VRs, numbers for binary
    numbers, bytes for other binary VRs. Raw elements are decoded here (no pydicom conversion)."""
    elem = ds.get_item(tag)
    vr = getattr(elem, "VR", None)
    if getattr(elem, "is_raw", False):
        if vr is None or vr == "UN":  # implicit VR, or a standard tag written as UN: the dictionary's VR
            from ..instances.dicom_columns import standard_dictionary

            entry = standard_dictionary().get(tag)
            vr = entry[0] if entry and (tag >> 16) % 2 == 0 else "UN"
        raw = elem.value
        if raw is None or len(raw) == 0:
            return vr, []
        if vr in _STRUCT or vr == "US or SS":
            return vr, _numbers(raw, vr, elem.is_little_endian)
        if vr == "AT":
            pairs = _numbers(raw, "US", elem.is_little_endian)
            return vr, [f"{pairs[i]:04X}{pairs[i + 1]:04X}" for i in range(0, len(pairs) - 1, 2)]
        if vr in _STRING_VRS or vr == "DA":
            if vr in _TEXT_VRS and not isinstance(codec, str):
                from pydicom.values import convert_value

                value = convert_value(vr, elem, codec)  # pydicom decodes the character set
                items = list(value) if isinstance(value, (list, tuple)) or type(
                    value).__name__ == "MultiValue" else [value]
                return vr, [_strip(str(item), vr) for item in items]
            return vr, _split_text(raw, vr, codec if isinstance(codec, str) else "latin-1")
        else:
            return vr, [bytes(raw)]
    # a converted DataElement (file meta, character sets pydicom decoded, a Dataset built in memory)
    value = elem.value
    if value is None or value == "" or value == b"":
        return vr, []
    items = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            out.append(bytes(item))
        elif vr in _STRUCT or vr in _INT_VRS or vr in _FLOAT_VRS:
            out.append(item)
        elif vr == "AT":
            out.append(f"{int(item):08X}")
        else:
            out.append(_strip(str(item), vr or "LO"))
    return vr, out


def _typed(values: list[Any], column: Column) -> Any:
    """``values`` as the column's type; raises ValueError for what cannot be that type."""
    if any(isinstance(v, (bytes, bytearray)) for v in values):
        raise ValueError("written with a binary VR where the standard has a "
                         f"{'number' if column.kind in (INT, FLOAT) else column.kind}")
    values = [v for v in values if not (isinstance(v, str) and v == "")] if column.kind != STRING else values
    if column.kind == STRING:
        values = [v if isinstance(v, str) else str(v) for v in values]
        if column.multi:
            return values or None
        if not values or (len(values) == 1 and values[0] == ""):
            return None
        return "\\".join(values)
    if column.kind == DATE:
        converted = [_parse_date(v) if isinstance(v, str) else v for v in values]
    elif column.kind == INT:
        converted = [int(v) for v in values]
        if any(not -_INT64_MAX - 1 <= v <= _INT64_MAX for v in converted):
            raise ValueError("value beyond a 64-bit integer")
    else:
        converted = [float(v) for v in values]
    if column.multi:
        return converted or None
    if not converted:
        return None
    if len(converted) > 1:
        raise ValueError(f"{len(converted)} values where the standard allows one")
    return converted[0]


def _other(tag: int, vr: str, values: list[Any]) -> dict:
    data = [base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else str(v) for v in values]
    return {"Tag": f"Tag_{tag:08X}", "Data": data or None}


def _sequence_json(ds, tag: int, problems: list[ValueProblem], path: str) -> str | None:
    items = [_item_object(item, problems, f"{path}[{i}]") for i, item in enumerate(ds[tag].value)]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"), default=str)


def _item_object(item, problems: list[ValueProblem], path: str) -> dict:
    from .fastread import FastDataset

    codec = _encoding(item)
    obj: dict[str, Any] = {}
    others: list[dict] = []

    def general(tag: int) -> None:
        _item_element(item, tag, codec, obj, others, problems, path)

    if FAST_VALUES:  # the common raw elements in one step, as at the top level
        elements = item._elements.items() if type(item) is FastDataset else _raw_elements(item)
        _fast_elements(elements, item, codec, obj, problems, others, _ITEM_PLANS, general)
    else:
        for tag in item.keys():
            general(int(tag))
    if others:
        obj[OTHER_ELEMENTS] = others
    return obj


def _item_element(item, tag: int, codec, obj: dict, others: list, problems: list, path: str) -> None:
    """One element of a sequence item by the general path: dates stay text, nested sequences
    are lists of objects, private sequences are not kept."""
    column = column_for(tag)
    try:
        if column is not None and column.kind == JSON:
            obj[column.keyword] = json.loads(_sequence_json(item, tag, problems, f"{path}.{column.keyword}"))
            return
        if _is_sequence(item, tag):
            return  # private sequences: not kept inside items
        vr, values = _element_values(item, tag, codec)
        if column is None:
            if (tag >> 16) % 2 == 1 or vr not in _BINARY_VRS:
                others.append(_other(tag, vr, values))
            return
        as_text = Column(column.keyword, STRING, column.multi, tag) if column.kind == DATE else column
        obj[column.keyword] = _typed(values, as_text)
    except Exception as exc:  # noqa: BLE001 - one unreadable value is a problem row, not a failure
        name = column.keyword if column else f"Tag_{tag:08X}"
        problems.append(ValueProblem(f"{path}.{name}", _one_line(exc)))


def _is_sequence(ds, tag: int) -> bool:
    elem = ds.get_item(tag)
    vr = getattr(elem, "VR", None)
    if vr == "SQ":
        return True
    if getattr(elem, "is_raw", False) and vr is None:
        column = column_for(tag)
        return column is not None and column.kind == JSON
    return False


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


#: Convert the common raw elements (strings in a directly decoded character set, binary
#: numbers, dates) in one step; off, every element takes the general path (the tests compare both).
FAST_VALUES = True
_FAST_STRING_VRS = {"AE", "AS", "CS", "DS", "IS", "LO", "SH", "UC", "UI", "UR", "TM", "DT", "PN", "LT", "ST", "UT"}
_SIZES = {vr: struct.calcsize(code) for vr, code in _STRUCT.items()}


def dataset_row(ds, file_meta=None) -> tuple[dict[str, Any], list[ValueProblem]]:
    """The row of one dataset (and its file meta information): keyword -> value, plus
    ``OtherElements`` when it has private elements. File-level columns are the caller's."""
    from .fastread import FastDataset

    row: dict[str, Any] = {}
    problems: list[ValueProblem] = []
    others: list[dict] = []
    sources = [(file_meta, "latin-1")] if file_meta is not None else []
    sources.append((ds, _encoding(ds)))
    for source, codec in sources:
        if not FAST_VALUES:
            for tag in source.keys():
                tag = int(tag)
                if tag != 0x7FE00010 and tag & 0xFFFF:
                    _general_element(source, tag, column_for(tag), codec, row, problems, others)
            continue
        elements = source._elements.items() if type(source) is FastDataset else _raw_elements(source)
        _fast_elements(elements, source, codec, row, problems, others)
    if others:
        row[OTHER_ELEMENTS] = others
    return row, problems


def _raw_elements(ds):
    """(tag, element) of a pydicom data set: its raw elements (RawDataElement, a tuple of the
    fields fastread's elements have, in the same order), None for one pydicom converted."""
    for tag in ds.keys():
        elem = ds.get_item(tag)
        yield int(tag), (elem if getattr(elem, "is_raw", False) else None)


def _general_element(source, tag: int, column: Column | None, codec, row: dict, problems: list, others: list) -> None:
    """One element by the general path (every VR, sequences, what cannot be read: a problem)."""
    try:
        if column is not None and column.kind == JSON:
            row[column.keyword] = _sequence_json(source, tag, problems, column.keyword)
            return
        if _is_sequence(source, tag):
            others.append({"Tag": f"Tag_{tag:08X}", "Data": [json.dumps(
                [_item_object(i, problems, f"Tag_{tag:08X}") for i in source[tag].value], default=str)]})
            return
        vr, values = _element_values(source, tag, codec)
        if column is None:
            if (tag >> 16) % 2 == 1 or vr not in _BINARY_VRS:
                others.append(_other(tag, vr, values))
            return
        row[column.keyword] = _typed(values, column)
    except Exception as exc:  # noqa: BLE001 - one unreadable value is a problem row, not a failure
        name = column.keyword if column else f"Tag_{tag:08X}"
        problems.append(ValueProblem(name, _one_line(exc)))
        if column is not None:
            row[column.keyword] = None


# How a raw element is converted, decided once per (tag, VR): a plan is (mode, name, a, b, c)
# with the mode's flags in a, b, c. tests/unit/test_ingest_dataset.py compares the one-step
# conversion with the general path on every file pydicom ships.
_SKIP, _GENERAL, _STR, _NUM, _PRIVATE, _DATE = range(6)
_PLANS: dict[int, tuple] = {}  # tag -> (VR, *plan): the plan of the VR that tag was last written with
_ITEM_PLANS: dict[int, tuple] = {}  # the same inside sequence items (_item_plan)
_NO_PLAN = (None, None, None, None)


def _plan(tag: int, vr: str | None) -> tuple:
    if tag == 0x7FE00010 or tag & 0xFFFF == 0:
        return (_SKIP, *_NO_PLAN)
    if vr is None and not (tag >> 16) & 1:  # implicit VR: the dictionary's, as _element_values takes it
        from ..instances.dicom_columns import standard_dictionary

        entry = standard_dictionary().get(tag)
        vr = entry[0] if entry else None
    if vr is None or vr == "UN":
        return (_GENERAL, *_NO_PLAN)
    column = column_for(tag)
    if column is None:
        if (tag >> 16) & 1 and vr in _FAST_STRING_VRS:
            return (_PRIVATE, f"Tag_{tag:08X}", vr in _TEXT_VRS, vr in _KEEP_LEADING, True)
        return (_GENERAL, *_NO_PLAN)
    if column.kind == STRING and vr in _FAST_STRING_VRS:
        return (_STR, column.keyword, vr in _TEXT_VRS, vr in _KEEP_LEADING, column.multi)
    if column.kind == DATE and vr == "DA" and not column.multi:
        return (_DATE, column.keyword, None, None, None)
    if column.kind in (INT, FLOAT) and vr in _STRUCT and vr != "UV":
        return (_NUM, column.keyword, (_STRUCT[vr], _SIZES[vr]), column.kind == FLOAT, column.multi)
    return (_GENERAL, *_NO_PLAN)


def _item_plan(tag: int, vr: str | None) -> tuple:
    """A plan inside a sequence item: dates stay text and nothing is skipped there, so those
    take the item's general path (_item_element)."""
    plan = _plan(tag, vr)
    return (_GENERAL, *_NO_PLAN) if plan[0] in (_SKIP, _DATE) else plan


def _fast_elements(elements, source, codec, row: dict, problems: list, others: list, plans=None,
                   general=None) -> None:
    """``elements`` ((tag, element) of ``source``) into ``row`` / ``others``: the common raw
    elements in one step, the rest (sequences, other character sets, big-endian numbers, what
    cannot be read, elements pydicom converted: None) by the general path. An element is
    RawDataElement's fields by position: [1] VR, [3] the value's bytes, [6] little endian.
    In a sequence item: ``plans`` is _ITEM_PLANS and ``general(tag)`` the item's general path."""
    text_codec = codec if isinstance(codec, str) else None
    in_item = plans is not None
    plans, make_plan = (plans, _item_plan) if in_item else (_PLANS, _plan)
    for tag, elem in elements:
        if elem is None:
            mode = _SKIP if not in_item and (tag == 0x7FE00010 or tag & 0xFFFF == 0) else _GENERAL
        else:
            vr = elem[1]
            plan = plans.get(tag)
            if plan is None or plan[0] != vr:
                plan = plans[tag] = (vr, *make_plan(tag, vr))
            _, mode, name, a, b, multi = plan
        if mode == _SKIP:
            continue
        if mode != _GENERAL and (raw := elem[3]) and type(raw) is bytes:
            if mode == _STR or mode == _PRIVATE:  # a: decoded with the character set; b: leading spaces kept
                if not a or text_codec is not None:
                    text = raw.decode(text_codec if a else "latin-1", "replace")
                    if b:
                        values = [text.rstrip(" \x00")]
                    elif "\\" in text:
                        values = [part.rstrip(" \x00").lstrip(" ") for part in text.split("\\")]
                    else:
                        if not multi:
                            row[name] = text.rstrip(" \x00").lstrip(" ") or None
                            continue
                        values = [text.rstrip(" \x00").lstrip(" ")]
                    if mode == _PRIVATE:
                        others.append({"Tag": name, "Data": values})
                    elif multi:
                        row[name] = values
                    elif len(values) == 1:
                        row[name] = values[0] or None
                    else:
                        row[name] = "\\".join(values)
                    continue
            elif mode == _DATE:  # one YYYYMMDD; anything else (ACR-NEMA's dots, two values) the general path
                text = raw.decode("latin-1").rstrip(" \x00").lstrip(" ")
                if len(text) == 8 and text.isdigit():
                    try:
                        row[name] = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
                        continue
                    except ValueError:
                        pass  # not a date: the general path says so
            else:  # _NUM; a: (struct code, size), b: as float
                code, size = a
                count = len(raw) // size
                if elem[6] and count * size == len(raw) and (multi or count == 1):
                    numbers = struct.unpack("<" + code * count, raw)
                    if b:
                        numbers = [float(v) for v in numbers]
                    row[name] = list(numbers) if multi else numbers[0]
                    continue
        if in_item:
            general(tag)
        else:
            _general_element(source, tag, column_for(tag), codec, row, problems, others)
