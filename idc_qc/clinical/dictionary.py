"""The column dictionary of a clinical table: label, type, coded values and concept.

Inferred when no dictionary is given: the type from the values (INT64, FLOAT64 or STRING,
as IDC's column_metadata.data_type), coded values for text columns with few distinct values,
and the concept (sex, age_years, days_to_birth, race, ethnicity, vital_status) from the
column name. A dictionary file (CSV: column, and any of label, data_type, concept, values as
``code=description;...``) overrides what it states.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ..errors import IdcQcError
from .store import CONCEPTS

#: Column names (normalized) that hold each concept, in order of preference.
CONCEPT_NAMES: dict[str, tuple[str, ...]] = {
    "sex": ("sex", "gender", "patient_sex", "biological_sex", "sex_at_birth"),
    "age_years": ("age_at_index", "age_at_imaging", "age_at_diagnosis", "age_at_initial_pathologic_diagnosis",
                  "age_at_dx_years", "age_years", "patient_age", "age"),
    "days_to_birth": ("days_to_birth",),
    "race": ("race", "patient_race"),
    "ethnicity": ("ethnicity", "ethnic_group", "patient_ethnicity"),
    "vital_status": ("vital_status", "vital_status_at_last_contact", "vital"),
}
#: A text column with at most this many distinct values gets them listed as coded values.
MAX_CODED_VALUES = 30
DATA_TYPES = {"STRING", "INT64", "FLOAT64"}


def read_dictionary(path: Path, header: list[str]) -> dict[str, dict[str, Any]]:
    """A dictionary file as {normalized column: {label, data_type, concept, values}}."""
    from .register import normalize_column_name

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise IdcQcError(f"--dictionary {path}: not a file with content")
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "column" not in rows[0]:
        raise IdcQcError(f"--dictionary {path}: expected a CSV with a 'column' header (and label, data_type, "
                         f"concept, values); found {', '.join(rows[0]) if rows else 'no rows'}")
    known = {normalize_column_name(h) for h in header}
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = normalize_column_name(row["column"])
        if name not in known:
            raise IdcQcError(f"--dictionary {path}: column {row['column']!r} is not in the clinical file")
        concept = (row.get("concept") or "").strip() or None
        if concept and concept not in CONCEPTS:
            raise IdcQcError(f"--dictionary {path}: concept {concept!r} of {row['column']!r} is not one of "
                             f"{', '.join(CONCEPTS)}")
        data_type = (row.get("data_type") or "").strip().upper() or None
        if data_type and data_type not in DATA_TYPES:
            raise IdcQcError(f"--dictionary {path}: data_type {data_type!r} of {row['column']!r} is not one of "
                             f"{', '.join(sorted(DATA_TYPES))}")
        values = []
        for part in (row.get("values") or "").split(";"):
            if part.strip():
                code, _, desc = part.partition("=")
                values.append({"option_code": code.strip(), "option_description": desc.strip() or None})
        out[name] = {"label": (row.get("label") or "").strip() or None, "data_type": data_type,
                     "concept": concept, "values": values or None}
    return out


def _infer_type(series) -> str:
    values = series.dropna()
    if values.empty:
        return "STRING"
    try:
        numbers = values.astype(float)
    except (TypeError, ValueError):
        return "STRING"
    if all(float(v).is_integer() and "." not in str(s) and "e" not in str(s).lower() for v, s in zip(numbers, values)):
        return "INT64"
    return "FLOAT64"


def _cast(series, data_type: str, column: str):
    import pandas as pd

    if data_type == "STRING":
        return series.astype("string")
    numbers = pd.to_numeric(series, errors="coerce")
    lost = series.notna() & numbers.isna()
    if lost.any():
        example = series[lost].iloc[0]
        raise IdcQcError(f"column {column!r} is declared {data_type} but holds {int(lost.sum())} value(s) that are not "
                         f"numbers (e.g. {example!r}); fix the dictionary's data_type")
    if data_type == "INT64":
        if not (numbers.dropna() % 1 == 0).all():
            raise IdcQcError(f"column {column!r} is declared INT64 but holds fractions; declare FLOAT64")
        return numbers.astype("Int64")
    return numbers.astype("float64")


def infer_dictionary(frame, value_columns: list[str], originals: dict[str, str], given: dict[str, dict[str, Any]]):
    """Typed columns, column_metadata rows, and {concept: column}."""
    typed = {}
    rows = []
    concepts: dict[str, str] = {}
    for name in value_columns:
        stated = given.get(name, {})
        data_type = stated.get("data_type") or _infer_type(frame[name])
        typed[name] = _cast(frame[name], data_type, name)
        values = stated.get("values")
        if values is None and data_type == "STRING":
            distinct = sorted({str(v) for v in frame[name].dropna()})
            values = [{"option_code": v, "option_description": None} for v in distinct] \
                if 0 < len(distinct) <= MAX_CODED_VALUES else []
        if stated.get("concept"):
            concepts.setdefault(stated["concept"], name)
        rows.append({"case_col": False, "column": name, "column_label": stated.get("label") or originals[name],
                     "data_type": data_type, "original_column_headers": originals[name], "values": values or [],
                     "concept": stated.get("concept")})
    stated_any = {r["column"] for r in rows if r["concept"]}
    for concept, candidates in CONCEPT_NAMES.items():
        if concept in concepts:
            continue
        for candidate in candidates:
            if candidate in value_columns and candidate not in stated_any and candidate not in concepts.values():
                concepts[concept] = candidate
                break
    for row in rows:
        for concept, column in concepts.items():
            if row["column"] == column:
                row["concept"] = concept
    return typed, rows, concepts
