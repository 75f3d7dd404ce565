"""compute_bias: the distributions of a selection, a reference, and the distances between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IdcQcError
from ..query.safety import check_condition

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


@dataclass
class Selection:
    """Which series and patients to describe: a SQL condition, a cohort file, a grouping."""

    where: str | None = None
    cohort: Path | None = None
    by: str | None = "collection_id"   # None: the whole selection as one group

    @property
    def is_default(self) -> bool:
        return self.where is None and self.cohort is None and self.by == "collection_id"

    def describe(self) -> str:
        parts = [f"where {self.where}" if self.where else "every series of the database"]
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
    frame = pd.read_parquet(cohort) if cohort.suffix.lower() == ".parquet" else pd.read_csv(cohort, dtype=str)
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

    from ..warehouse import open_warehouse
    from .distance import jensen_shannon_distance
    from .queries import distribution_sql

    selection = selection or Selection()
    chosen = _resolve_attributes(attributes, age_scheme)
    notes: list[str] = []
    with open_warehouse(Path(db)) as wh:
        notes.extend(wh.warnings)
        tables = set(wh.tables())
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise IdcQcError(f"{db} has no {', '.join(missing)}: build them first, e.g. "
                             "`idc-qc build -s \"+patient_clinical+ +rpt_bias_census_reference\"`")
        con = wh.con
        input_kind = "unknown"
        if "rpt_build_context" in tables:
            try:
                input_kind = str(con.execute("select input_kind from rpt_build_context limit 1").fetchone()[0])
            except duckdb.Error:
                pass
        if selection.is_default:
            dist = con.execute(
                "select group_value, attribute, category, unit, n, group_total, share from rpt_bias_distributions "
                "where group_by = 'collection_id' and attribute in (select unnest(?)) "
                "order by group_value, attribute, n desc, category", [chosen]).df()
        else:
            if selection.where is not None:
                check_condition(selection.where, columns_of="series joined with patient_clinical",
                                example="\"collection_id like 'tcga_%'\"")
            cohort_filter = _cohort_filter(con, selection.cohort) if selection.cohort else None
            sql = distribution_sql(where=selection.where, by=selection.by, cohort_filter=cohort_filter, attributes=chosen)
            try:
                dist = con.execute(sql).df()
            except duckdb.Error as exc:
                line = str(exc).strip().splitlines()[0]
                raise IdcQcError(f"the selection (--where / --by) is not valid on series joined with "
                                 f"patient_clinical: {line}") from None
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
        notes.append("the selection holds no series: nothing to describe")
    for column in ("n", "group_total"):
        dist[column] = dist[column].astype("int64")
    ref = ref[ref["attribute"].isin(chosen)].reset_index(drop=True)

    rows = []
    for (group, attribute), part in dist.groupby(["group_value", "attribute"], sort=True):
        q = ref[ref["attribute"] == attribute]
        p = dict(zip(part["category"], part["n"]))
        rows.append({
            "group_value": group, "attribute": attribute, "unit": part["unit"].iloc[0],
            "group_total": int(part["group_total"].iloc[0]),
            "not_reported_share": float(part.loc[part["category"] == "Not reported", "share"].sum()),
            "jsd": jensen_shannon_distance(p, dict(zip(q["category"], q["share"]))) if len(q) else float("nan"),
        })
    distances = pd.DataFrame(rows, columns=["group_value", "attribute", "unit", "group_total", "not_reported_share", "jsd"])
    without = sorted(set(chosen) - set(ref["attribute"]))
    if without:
        notes.append(f"the reference has no {', '.join(without)}: no distance for them")
    if input_kind == "synthetic":
        notes.append("this database was built from SYNTHETIC instance metadata")
    return BiasResult(selection=selection, reference_name=reference_name, age_scheme=age_scheme, attributes=chosen,
                      distributions=dist, reference=ref, distances=distances, input_kind=input_kind, notes=notes)
