"""DICOM JSON (PS3.18 F) -> one row in IDC's ``dicom_all`` shape, through the file ingest's conversion.

Each instance of a WADO-RS metadata answer becomes a pydicom Dataset
(:meth:`pydicom.Dataset.from_json`, no bulk data handler: pixel data and other bulk data stay
empty, never fetched) and then a row by :func:`idc_qc.ingest.dataset.dataset_row`, the function
the file reader uses. Two things are mended on the way: DS and IS values a server writes as JSON
numbers are text again (shortest exact form), and ``TransferSyntaxUID`` comes from
``AvailableTransferSyntaxUID`` when the server sends it (docs/dicomweb.md).
"""

from __future__ import annotations

from typing import Any

from .dicomweb_client import _Number


def _plain(element: dict) -> dict:
    """One DICOM JSON element with numbers as numbers, except DS and IS, which keep their text."""
    vr = element.get("vr")
    if "BulkDataURI" in element:  # bulk data (pixels, binary values) is never fetched
        return {"vr": vr}
    values = element.get("Value")
    if not isinstance(values, list):
        return element
    if vr == "SQ":
        out = [{tag: _plain(e) for tag, e in item.items() if isinstance(e, dict)} if isinstance(item, dict)
               else item for item in values]
    elif vr in ("DS", "IS"):
        out = [_decimal_text(v) if isinstance(v, _Number) else v for v in values]
    else:
        out = [_number(v) if isinstance(v, _Number) else v for v in values]
    return {**element, "Value": out}


def _decimal_text(number: _Number) -> str:
    """A DS or IS the server wrote as a JSON number, as text: an integer as written, a decimal in
    the shortest form that reads back as the same double (servers such as Orthanc print DS with 17
    digits, "0.69999999999999996" for "0.7"). A DS the server writes as a JSON string is kept as is."""
    text = str(number)
    return repr(float(text)) if any(c in text for c in ".eE") else text


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _keep_text(ds, plain: dict) -> None:
    """DS and IS as the server wrote them: from_json turns them into numbers ("-100" -> -100.0)."""
    for tag, element in plain.items():
        vr, values = element.get("vr"), element.get("Value")
        if not isinstance(values, list) or not values:
            continue
        if vr in ("DS", "IS") and all(isinstance(v, str) for v in values):
            ds[int(tag, 16)].value = values[0] if len(values) == 1 else values
        elif vr == "SQ":
            for item_ds, item_json in zip(ds[int(tag, 16)].value, values):
                if isinstance(item_json, dict):
                    _keep_text(item_ds, item_json)


def instance_row(item: dict) -> tuple[dict[str, Any], list]:
    """The dicom_all row of one instance's DICOM JSON (the file ingest's conversion)."""
    import pydicom

    from .dataset import dataset_row

    plain = {tag: _plain(element) for tag, element in item.items() if isinstance(element, dict)}
    ds = pydicom.Dataset.from_json(plain)  # no bulk data handler: bulk data stays empty, never fetched
    _keep_text(ds, plain)
    row, problems = dataset_row(ds)
    syntaxes = row.get("AvailableTransferSyntaxUID")
    if syntaxes and "TransferSyntaxUID" not in row:
        row["TransferSyntaxUID"] = syntaxes if isinstance(syntaxes, str) else "\\".join(syntaxes)
    return row, problems
