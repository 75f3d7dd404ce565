"""How a standard DICOM attribute is a column of IDC's ``dicom_all`` shape: its kind (string,
date, float, int, or JSON text for a sequence) and whether it is a list, decided once per tag
from the standard's dictionary (docs/ingest.md, "The columns"). ``idc-qc ingest`` writes its
columns so (idc_qc/ingest/dataset.py); ``idc-qc query`` types an attribute absent from an
ingest output the same way (idc_qc/query/catalog.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

#: Column kinds (the Arrow type is :func:`arrow_type`).
STRING, DATE, FLOAT, INT, JSON = "string", "date", "float", "int", "json"

_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW", "US or SS or OW"}
_INT_VRS = {"US", "SS", "UL", "SL", "SV", "UV", "US or SS"}
_FLOAT_VRS = {"FL", "FD"}


@dataclass(frozen=True)
class Column:
    """How one standard attribute becomes a column."""

    keyword: str
    kind: str        # STRING, DATE, FLOAT, INT or JSON
    multi: bool      # a list of ``kind`` (dictionary VM other than 1)
    tag: int


@cache
def standard_dictionary() -> dict[int, tuple[str, str, str, str, str]]:
    """pydicom's dictionary of the standard: tag -> (VR, VM, name, retired, keyword).

    Taken from pydicom when it is imported; otherwise its data module (``pydicom/_dicom_dict.py``,
    a dict literal) is loaded alone, without the package: ``import pydicom`` costs 0.3 s (its
    pixel decoders import numpy and requests), as much as reading 600 CT headers, and the
    ingest's own header reader needs nothing of pydicom but this table."""
    import sys

    if "pydicom" not in sys.modules:
        import importlib.util
        import os

        package = importlib.util.find_spec("pydicom")  # finds, does not import
        folders = list(package.submodule_search_locations or []) if package else []
        source = os.path.join(folders[0], "_dicom_dict.py") if folders else ""
        spec = importlib.util.spec_from_file_location("_idc_qc_pydicom_dictionary", source) if source else None
        if spec is not None and spec.loader is not None and os.path.isfile(source):
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.DicomDictionary
    from pydicom.datadict import DicomDictionary

    return DicomDictionary


@cache
def column_for(tag: int) -> Column | None:
    """The column of a standard tag; None for private, unknown, group-length and binary ones."""
    if tag & 0xFFFF == 0 or (tag >> 16) % 2 == 1:
        return None
    entry = standard_dictionary().get(tag)
    if entry is None or not entry[4]:
        return None
    vr, vm, keyword = entry[0], entry[1], entry[4]
    if vr == "SQ":
        return Column(keyword, JSON, False, tag)
    if vr in _BINARY_VRS:
        return None
    if vr in _INT_VRS:
        kind = INT
    elif vr in _FLOAT_VRS:
        kind = FLOAT
    elif vr == "DA":
        kind = DATE
    else:
        kind = STRING
    return Column(keyword, kind, vm != "1", tag)


def column_for_keyword(keyword: str) -> Column | None:
    """The column of a standard attribute named by its DICOM keyword (None for a name that is none)."""
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    return None if tag is None else column_for(tag)


def arrow_type(kind: str, multi: bool):
    import pyarrow as pa

    base = {STRING: pa.string(), JSON: pa.string(), DATE: pa.date32(), FLOAT: pa.float64(), INT: pa.int64()}[kind]
    return pa.list_(base) if multi else base
