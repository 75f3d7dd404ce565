"""compute_bias: the distributions of a selection, a reference, and the distances between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IdcQcError
from ..provenance import read_build_context
from ..query.safety import check_expression
from ..query.selection import Selection as SeriesSelection

#: What the analysis can count; age_group resolves to the chosen scheme.
ATTRIBUTES = ("sex", "age_group", "race", "ethnicity", "manufacturer", "model")
AGE_SCHEMES = ("midrc", "census")
REQUIRED_TABLES = ("patient_clinical", "rpt_bias_distributions", "rpt_bias_census_reference", "series")
#: MIDRC's attribute names in a reference table, and ours.
REFERENCE_ATTRIBUTE_NAMES = {
    "sex": "sex", "race": "race", "ethnicity": "ethnicity", "age at index": "age_group_census",
    "age_group_census": "age_group_census", "age_group_midrc": "age_group_midrc", "age_group": None,
    "manufacturer": "manufacturer", "model": "model", "race and ethnicity": "race_and_ethnicity",
}
REFERENCE_VALUE_COLUMNS = ("share", "percent", "percent_of_us_population", "count", "n")


class EmptySelection(IdcQcError):
    """No series matches the selection: nothing to describe (exit 1, as a search that finds nothing)."""

    exit_code = 1


@dataclass
class Selection(SeriesSelection):
    """Which series and patients to describe: the one selection type (collection, modality,
    manufacturer, body part, release, --where; :mod:`idc_qc.query.selection`) plus what bias
    adds: a cohort file and a grouping (``by``, an expression checked like --where)."""

    cohort: Path | None = None
    by: str | None = "collection_id"   # None: the whole selection as one group

    @property
    def is_default(self) -> bool:
        return SeriesSelection.empty(self) and self.cohort is None and self.by == "collection_id"

    def describe(self) -> str:
        parts = [SeriesSelection.describe(self) if not SeriesSelection.empty(self) else "every series of the database"]
        if self.cohort:
            parts.append(f"cohort {self.cohort}")
        parts.append(f"grouped by {self.by}" if self.by else "as one group")
        return "; ".join(parts)


@dataclass
class BiasResult:
    """Distributions and distances, as DataFrames (the CLI prints and writes them)."""

    selection: Selection
    reference_name: str
    age_scheme: str
    attributes: list[str]
    distributions: Any          # group_value, attribute, category, unit, n, group_total, share
    reference: Any              # attribute, category, share
    distances: Any              # group_value, attribute, unit, group_total, not_reported_share, jsd
    input_kind: str = "unknown"
    notes: list[str] = field(default_factory=list)
    basis: str = ""             # what it stands on (bias/basis.py), written into the chart and CSVs


def _resolve_attributes(attributes: list[str] | None, age_scheme: str) -> list[str]:
    if age_scheme not in AGE_SCHEMES:
        raise IdcQcError(f"--age-groups {age_scheme!r}: use one of {', '.join(AGE_SCHEMES)}")
    chosen = list(attributes or ATTRIBUTES)
    unknown = [a for a in chosen if a not in ATTRIBUTES]
    if unknown:
        raise IdcQcError(f"unknown attribute(s) {', '.join(unknown)}: choose from {', '.join(ATTRIBUTES)}")
    return [f"age_group_{age_scheme}" if a == "age_group" else a for a in chosen]


def read_reference_table(path: Path):
    """A user reference (CSV or parquet): attribute, category and one of share, percent, count."""
    import pandas as pd

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise IdcQcError(f"--reference {path}: not one of archive, census, and no such file (or it is empty): "
                         "use --reference archive, --reference census or a CSV/parquet of shares")
    frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, encoding_errors="replace")
    columns = {c.lower().strip(): c for c in frame.columns}
    value = next((columns[c] for c in REFERENCE_VALUE_COLUMNS if c in columns), None)
    if "attribute" not in columns or "category" not in columns or value is None:
        raise IdcQcError(f"--reference {path}: expected columns attribute, category and one of "
                         f"{', '.join(REFERENCE_VALUE_COLUMNS)}; found {', '.join(map(str, frame.columns))}")
    out = pd.DataFrame({
        "attribute": frame[columns["attribute"]].astype(str).str.strip().str.lower().map(
            lambda a: REFERENCE_ATTRIBUTE_NAMES.get(a, a)),
        "category": frame[columns["category"]].astype(str).str.strip(),
        "value": pd.to_numeric(frame[value], errors="coerce"),
    })
    bad = out["value"].isna() | (out["value"] < 0)
    if bad.any():
        row = frame[bad].iloc[0].to_dict()
        raise IdcQcError(f"--reference {path}: column {value!r} must hold numbers >= 0; found {row}")
    out = out.groupby(["attribute", "category"], as_index=False)["value"].sum()
    out["share"] = out["value"] / out.groupby("attribute")["value"].transform("sum")
    return out[["attribute", "category", "share"]]


def _cohort_filter(con, cohort: Path) -> str:
    """Register the cohort file as a table and return the condition that keeps its series/patients."""
    import pandas as pd

    cohort = Path(cohort)
    if not cohort.is_file() or cohort.stat().st_size == 0:
        raise IdcQcError(f"--cohort {cohort}: no such file, or empty")
    try:
        frame = pd.read_parquet(cohort) if cohort.suffix.lower() == ".parquet" else pd.read_csv(cohort, dtype=str)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise IdcQcError(f"--cohort {cohort}: not a readable {'parquet' if cohort.suffix.lower() == '.parquet' else 'CSV'} "
                         f"file ({lines[0][:160] if lines else type(exc).__name__}); give a CSV or parquet with a "
                         "SeriesInstanceUID column") from None
    if "SeriesInstanceUID" in frame.columns:
        con.register("bias_cohort", frame[["SeriesInstanceUID"]].dropna().drop_duplicates())
        return "SeriesInstanceUID in (select SeriesInstanceUID from bias_cohort)"
    if "PatientID" in frame.columns:
        keep = ["PatientID"] + (["collection_id"] if "collection_id" in frame.columns else [])
        con.register("bias_cohort", frame[keep].dropna().drop_duplicates())
        if "collection_id" in keep:
            return ("collection_id || '/' || PatientID in "
                    "(select collection_id || '/' || PatientID from bias_cohort)")
        return "PatientID in (select PatientID from bias_cohort)"
    raise IdcQcError(f"--cohort {cohort}: expected a SeriesInstanceUID column, or PatientID (with collection_id); "
                     f"found {', '.join(map(str, frame.columns))}")


def compute_bias(
    db: Path,
    selection: Selection | None = None,
    *,
    reference: str | Path = "archive",
    age_scheme: str = "midrc",
    attributes: list[str] | None = None,
) -> BiasResult:
    """Distributions of ``selection`` in ``db`` and their Jensen-Shannon distance from ``reference``.

    ``reference``: ``archive`` (the whole database, rpt_bias_distributions' archive rows),
    ``census`` (the US 2020 census figures MIDRC uses; sex, race, ethnicity and age only) or
    a path to a reference table. Raises IdcQcError when the database lacks the clinical
    models or the selection is not valid SQL.
    """
    import duckdb
    import pandas as pd

    from ..query.run import contained, explain_condition_error, interruptible
    from .basis import describe_basis
    from .distance import distance_notes, judge_distance
    from .queries import (
        JOINED_WITH_A_COLLECTION,
        SELECTION_SOURCE,
        distribution_sql,
        joined_columns,
    )

    selection = selection or Selection()
    chosen = _resolve_attributes(attributes, age_scheme)
    example = "\"collection_id like 'tcga_%'\""
    selection.check(columns_of=SELECTION_SOURCE, example=example)
    if selection.by is not None:
        check_expression(selection.by, columns_of=SELECTION_SOURCE, example="Modality")
    notes: list[str] = []
    # the sandbox every user condition runs in: read-only, locked, only the warehouse's input files
    with contained(Path(db)) as (con, catalog, warnings):
        notes.extend(warnings)
        tables = set(catalog.relations)
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise IdcQcError(f"{db} has no {', '.join(missing)}: build them first, e.g. "
                             "`idc-qc build -s \"+patient_clinical+ +rpt_bias_census_reference\"`")
        input_kind = read_build_context(con).input_kind
        basis, partial = describe_basis(con, tables, input_kind)
        if selection.is_default:
            dist = con.execute(
                "select group_value, attribute, category, unit, n, group_total, share from rpt_bias_distributions "
                "where group_by = 'collection_id' and attribute in (select unnest(?)) "
                "order by group_value, attribute, n desc, category", [chosen]).df()
        else:
            cohort_filter = _cohort_filter(con, selection.cohort) if selection.cohort else None
            columns = joined_columns(catalog.relations["series"].columns, catalog.relations["patient_clinical"].columns)
            base = JOINED_WITH_A_COLLECTION.format(extra=f" and {cohort_filter}" if cohort_filter else "")
            selected, params = selection.relation(SELECTION_SOURCE, columns, base=base)
            sql = distribution_sql(selected=selected, by=selection.by, attributes=chosen)
            try:
                dist = interruptible(con, lambda: con.execute(sql, params).df())
            except duckdb.Error as exc:
                raise IdcQcError(explain_condition_error(
                    exc, f"the selection (--where / --by) does not run on {SELECTION_SOURCE}", columns)) from None
        if isinstance(reference, str) and reference == "archive":
            ref = con.execute("select attribute, category, share from rpt_bias_distributions "
                              "where group_by = 'archive'").df()
            reference_name = "the whole archive"
        elif isinstance(reference, str) and reference == "census":
            ref = con.execute("select attribute, category, share from rpt_bias_census_reference").df()
            reference_name = "US 2020 census (MIDRC)"
        else:
            ref = read_reference_table(Path(reference))
            reference_name = str(reference)
    if dist.empty:
        raise EmptySelection(f"no series matches the selection ({selection.describe()}): nothing to describe; "
                             "loosen --where / --cohort (idc-qc query lists what there is)")
    for column in ("n", "group_total"):
        dist[column] = dist[column].astype("int64")
    ref = ref[ref["attribute"].isin(chosen)].reset_index(drop=True)

    rows = []
    for (group, attribute), part in dist.groupby(["group_value", "attribute"], sort=True):
        q = ref[ref["attribute"] == attribute]
        p = dict(zip(part["category"], part["n"]))
        jsd, status = judge_distance(p, dict(zip(q["category"], q["share"])), int(part["group_total"].iloc[0]))
        rows.append({
            "group_value": group, "attribute": attribute, "unit": part["unit"].iloc[0],
            "group_total": int(part["group_total"].iloc[0]),
            "not_reported_share": float(part.loc[part["category"] == "Not reported", "share"].sum()),
            "jsd": jsd, "distance_status": status,
        })
    distances = pd.DataFrame(rows, columns=["group_value", "attribute", "unit", "group_total", "not_reported_share", "jsd",
                                            "distance_status"])
    notes.extend(distance_notes(distances))
    without = sorted(set(chosen) - set(ref["attribute"]))
    if without:
        notes.append(f"the reference has no {', '.join(without)}: no distance for them")
    if partial:
        notes.append(f"based on {basis}: not a statement about IDC's collections")
    return BiasResult(selection=selection, reference_name=reference_name, age_scheme=age_scheme, attributes=chosen,
                      distributions=dist, reference=ref, distances=distances, input_kind=input_kind, notes=notes,
                      basis=basis)
