"""The DICOM DS grammar as the geometry models read it, against the grammar itself on random
strings.

int_instances__geometry_parsed reads a decimal string with DuckDB's cast alone when the row's
decimal strings hold none of the characters by which that cast reads more than the grammar
(macro dicom_decimal_text_is_plain), and with the regular expression otherwise. Both paths
must give what PS3.5 6.2 says: a DS (optional sign, digits with at most one point, optional
exponent, surrounding spaces, at most 16 characters) is its number; NaN / Infinity spelled out
are NaN / Infinity (the instance is malformed all the same); anything else is no value.
Each random string sits in one instance's ImagePositionPatient, the rest of the row plain.
"""

from __future__ import annotations

import math
import random
import re

import duckdb
import pytest

from support.geometry import _regular, built_once, write_instances

pytestmark = pytest.mark.slow

UID = "1.2.826.0.1.3680043.8.498.78.ds"
DS = re.compile(r" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")
NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)")

#: Strings known to part DuckDB's cast from the grammar, and the grammar's own corners.
KNOWN = ["1_000", "0_1", "1e1_0", "+-8", "-+8", "\t1", "1\t", "\n1", "1\r", "\x0b1", "\x0c1", "nan", "NaN", "-inf",
         "Infinity", "+nan", "1e309", "-1e309", "1e-400", " 1 ", "1.", ".5", "+.5", "5.e3", ".e3", "1e", "1e+",
         "1E+05", "0001", "00.5e-0010", "1 000", "1.2.3", "0x1A", "1d3", "1.5f", "12345678901234567", "1234567890123456",
         " -1.5e-3        ", "", " ", ".", "+", "-", "e5", "\u00a01", "1\u00a0", "--1", "++1"]
ALPHABET = list("0123456789") * 3 + list(".eE+- ") * 2 + ["_", "\t", "\n", "n", "N", "a", "i", "f", "I", "x", "\u00a0", "d"]


def random_strings(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        if rng.random() < 0.5:   # a number as scanners write it, then maybe one character changed
            text = rng.choice(["{:.6f}", "{:.10g}", "{:e}", "{:.3E}", " {:g} "]).format(rng.uniform(-1e4, 1e4))
            if rng.random() < 0.6:
                k = rng.randrange(len(text) + 1)
                text = text[:k] + rng.choice(ALPHABET) + text[k + rng.randrange(2):]
        else:
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 19)))
        found.append(text)
    return found


def expected(text: str) -> tuple[str, float | None]:
    """(ipp_status, value) the grammar gives a position's third value, the other two being 0."""
    if DS.fullmatch(text) and len(text.encode()) <= 16:
        value = float(text)
        return ("ok" if math.isfinite(value) else "nan"), value
    if NON_FINITE.fullmatch(text.strip(" ").lower()):
        return "nan", float(text.strip(" "))
    return "non_numeric", None


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    strings = list(dict.fromkeys(KNOWN + random_strings(2500)))
    rows = _regular(UID, n=len(strings))
    for k, (row, text) in enumerate(zip(rows, strings)):
        row["SOPInstanceUID"] = f"{UID}.{k}"
        row["ImagePositionPatient"] = ["0", "0", text]
    folder = tmp_path_factory.mktemp("dicom_decimal")
    db = built_once(str(write_instances(rows, folder / "instances.parquet")), folder)
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            "select SOPInstanceUID, ipp_z, ipp_status, decimal_text_is_plain from int_instances__geometry_parsed"
        ).fetchall()
    finally:
        con.close()
    by_uid = {uid: (value, status, plain) for uid, value, status, plain in found}
    return [(text, *by_uid[f"{UID}.{k}"]) for k, text in enumerate(strings)]


def test_every_string_is_read_by_the_grammar(parsed):
    wrong = []
    for text, value, status, _plain in parsed:
        want_status, want_value = expected(text)
        same_value = (value is None and want_value is None) or (
            value is not None and want_value is not None
            and (value == want_value or (math.isnan(value) and math.isnan(want_value))))
        if status != want_status or not same_value:
            wrong.append((text, status, value, want_status, want_value))
    assert wrong == [], f"{len(wrong)} strings read against the DS grammar, e.g. {wrong[:5]}"


def test_both_paths_are_exercised(parsed):
    """Most rows take the cast alone, and every kind of string the cast reads too leniently
    (`1_000`, `+-8`, a tab, NaN) goes to the regular expression."""
    plain = {text for text, _value, _status, is_plain in parsed if is_plain}
    assert len(plain) > len(parsed) / 3
    for text in ["1_000", "+-8", "\t1", "NaN", "inf"]:
        assert text not in plain
    assert {"1.", ".5", "1e309", "12345678901234567"} <= plain
