"""A fast header reader for the common case: little-endian files with a preamble and file meta.

pydicom's ``dcmread(stop_before_pixels=True)`` builds a full Dataset (about 1 ms a file for a
CT header); reading its elements back costs as much again. Here the bytes before the pixel
data are walked once into a minimal data set that offers what
:func:`idc_qc.ingest.dataset.dataset_row` reads (``keys``, ``get_item``, ``in``, ``[tag].value``
for sequences). Each element is kept as a plain tuple of the fields of pydicom's
``RawDataElement`` (:class:`RawElement`, which ``get_item`` returns), so both readers give the
same row (tests/unit/test_ingest_dataset.py compares them on every file pydicom ships), and
reading a header imports nothing of pydicom but its dictionary (0.3 s less per process).

Only Explicit and Implicit VR Little Endian data sets (and the encapsulated transfer syntaxes,
whose data sets are explicit little endian) are read here; anything else (big endian,
deflated, no preamble, a header that ends early, a structure this walker does not expect)
returns None and the caller reads the file with pydicom, which then classifies what is wrong.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
#: Explicit VRs with a 2-byte reserved field and a 4-byte length.
_LONG = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
#: Every VR of the standard, as bytes -> str (anything else: not an explicit VR data set).
_VR_NAMES = {vr.encode(): vr for vr in (
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN",
    "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV")}
_IMPLICIT_LE = "1.2.840.10008.1.2"
_BIG_ENDIAN = "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
#: Bytes read at first: a CT header with its private elements fits in a few kB.
FIRST_READ = 1 << 16
_unpack_tag = struct.Struct("<HH").unpack_from
_unpack_u16 = struct.Struct("<H").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from
#: VR bytes -> (VR, whether its length takes 4 bytes after 2 reserved ones)
_EXPLICIT = {raw: (name, raw in _LONG) for raw, name in _VR_NAMES.items()}
_unpack_explicit = struct.Struct("<HH2sH").unpack_from  # group, element, VR, 2-byte length
_unpack_implicit = struct.Struct("<HHI").unpack_from     # group, element, 4-byte length


class RawElement(NamedTuple):
    """pydicom's ``RawDataElement`` (dataelem.py), field for field, so pydicom's value conversion
    takes it where ours does not decode (ISO 2022 text); our own, so reading a header does
    not import pydicom (0.3 s)."""

    tag: int
    VR: str | None
    length: int
    value: bytes | None
    value_tell: int
    is_implicit_VR: bool
    is_little_endian: bool
    is_raw: bool = True
    is_buffered: bool = False


class NeedMore(Exception):
    """The header goes on past the bytes read so far."""


class Unsupported(Exception):
    """A structure left to pydicom."""


class _Value:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class FastDataset:
    """The part of pydicom's Dataset interface that dataset_row uses, over raw elements."""

    __slots__ = ("_elements",)

    def __init__(self, elements: dict[int, Any]) -> None:
        self._elements = elements

    def keys(self):
        return self._elements.keys()

    def get_item(self, tag: int):
        return RawElement._make(self._elements[int(tag)])

    def __contains__(self, tag) -> bool:
        return int(tag) in self._elements

    def __getitem__(self, tag):
        elem = RawElement._make(self._elements[int(tag)])
        return _Value(elem.value) if isinstance(elem.value, list) else elem

    def __len__(self) -> int:
        return len(self._elements)


def _is_sequence_tag(tag: int) -> bool:
    from ..instances.dicom_columns import standard_dictionary

    entry = standard_dictionary().get(tag)
    return entry is not None and entry[0] == "SQ"


def _parse(buf: bytes, offset: int, end: int, implicit: bool, top: bool) -> tuple[dict[int, Any], int]:
    """Elements from ``offset`` to ``end`` (an item's end, or the buffer's); stops at an item
    delimiter, or at the pixel data at the top level. Returns (elements, offset after)."""
    elements: dict[int, Any] = {}
    size = len(buf)
    while offset < end:
        if offset + 8 > size:
            raise NeedMore
        if implicit:
            group, number, length = _unpack_implicit(buf, offset)
        else:
            group, number, vr_bytes, length = _unpack_explicit(buf, offset)
        tag = group << 16 | number
        if tag >= _PIXEL_DATA:  # one test on the common path: the pixel data, an item delimiter, an item
            if tag == _ITEM_END:
                return elements, offset + 8
            if top:
                return elements, offset
            if group == 0xFFFE:
                raise Unsupported("item tag where an element was expected")
        if implicit:
            vr = None
            offset += 8
        else:
            known = _EXPLICIT.get(vr_bytes)
            if known is None:
                raise Unsupported("not an explicit VR")
            vr, long = known
            if long:
                if offset + 12 > size:
                    raise NeedMore
                length = _unpack_u32(buf, offset + 8)[0]
                offset += 12
            else:
                offset += 8
        if vr == "SQ" or ((vr is None or vr == "UN") and (length == _UNDEFINED or _is_sequence_tag(tag))):
            # a sequence; a standard one written as UN has implicit items
            items, offset = _parse_items(buf, offset, length, implicit or vr == "UN")
            elements[tag] = (tag, "SQ", 0, items, 0, implicit, True, True, False)
            continue
        if length == _UNDEFINED:
            raise Unsupported("undefined length outside a sequence")
        if offset + length > size:
            raise NeedMore
        # a plain tuple of RawElement's fields (cheaper to make; FastDataset.get_item names them)
        elements[tag] = (tag, vr, length, buf[offset:offset + length], 0, implicit, True, True, False)
        offset += length
    return elements, offset


def _parse_items(buf: bytes, offset: int, length: int, implicit: bool) -> tuple[list, int]:
    size = len(buf)
    end = size if length == _UNDEFINED else offset + length
    if length != _UNDEFINED and end > size:
        raise NeedMore
    items = []
    while offset < end:
        if offset + 8 > size:
            raise NeedMore
        group, number = _unpack_tag(buf, offset)
        tag = group << 16 | number
        item_length = _unpack_u32(buf, offset + 4)[0]
        offset += 8
        if tag == _SEQUENCE_END:
            return items, offset
        if tag != _ITEM:
            raise Unsupported("not an item in a sequence")
        item_end = end if item_length == _UNDEFINED else offset + item_length
        elements, offset = _parse(buf, offset, item_end, implicit, False)
        items.append(FastDataset(elements))
    if length == _UNDEFINED:
        raise NeedMore
    return items, offset


def read_fast(path: str) -> tuple[FastDataset, FastDataset] | None:
    """(data set, file meta) of ``path`` read up to its pixel data, or None to use pydicom."""
    with open(path, "rb") as handle:
        return read_fast_open(handle, handle.read(FIRST_READ))


def read_fast_open(handle, buf: bytes) -> tuple[FastDataset, FastDataset] | None:
    """As :func:`read_fast`, for an open file of which ``buf`` (FIRST_READ bytes asked for) was read."""
    eof = len(buf) < FIRST_READ
    while True:
        try:
            return _read(buf, eof)
        except NeedMore:
            if eof:
                return None  # the file ends inside the header: pydicom says how
            wanted = max(len(buf), FIRST_READ)
            more = handle.read(wanted)
            eof = len(more) < wanted
            buf += more
        except (Unsupported, struct.error, UnicodeDecodeError, IndexError):
            return None


def _read(buf: bytes, eof: bool) -> tuple[FastDataset, FastDataset] | None:
    if len(buf) < 144 or buf[128:132] != b"DICM":
        return None
    # file meta: explicit VR little endian, group 0002 only
    meta: dict[int, Any] = {}
    offset = 132
    while True:
        if offset + 8 > len(buf):
            raise NeedMore
        group = _unpack_u16(buf, offset)[0]
        if group != 0x0002:
            break
        elements, offset = _parse_meta_element(buf, offset)
        meta.update(elements)
    syntax_elem = meta.get(0x00020010)
    if syntax_elem is None:
        return None
    syntax = syntax_elem[3].decode("ascii", "replace").rstrip("\x00 ")  # its value (RawElement fields)
    if syntax == _BIG_ENDIAN or syntax in _DEFLATED:
        return None
    implicit = syntax == _IMPLICIT_LE
    # at the end of the file, a data set without pixel data ends where the file does
    elements, _ = _parse(buf, offset, len(buf) if eof else 1 << 62, implicit, True)
    return FastDataset(elements), FastDataset(meta)


def _parse_meta_element(buf: bytes, offset: int):
    group, number = _unpack_tag(buf, offset)
    tag = group << 16 | number
    vr_bytes = buf[offset + 4:offset + 6]
    if vr_bytes in _LONG:
        length = _unpack_u32(buf, offset + 8)[0]
        offset += 12
    else:
        length = _unpack_u16(buf, offset + 6)[0]
        offset += 8
    if length == _UNDEFINED or offset + length > len(buf):
        raise NeedMore if length != _UNDEFINED else Unsupported("undefined length in file meta")
    return {tag: (tag, vr_bytes.decode("ascii"), length, buf[offset:offset + length], 0, False, True, True, False)}, \
        offset + length
