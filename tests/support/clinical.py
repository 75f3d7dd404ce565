"""Clinical test helpers: the TCGA clinical data registered and built once per test run, and
an independent pandas computation of what the clinical models should hold."""

from __future__ import annotations

from pathlib import Path

from .data import TCGA_CLINICAL, require_shared

#: What the TCGA build selects: patient_clinical, everything it feeds, and the census reference.
TCGA_SELECT = ["+patient_clinical+ +rpt_bias_census_reference"]
CENSUS_SHARED = TCGA_CLINICAL.parent.parent / "reference" / "us_census_2020_midrc.csv"

_built: dict[str, Path] = {}


def tcga_clinical_db(base: Path) -> Path:
    """Register the TCGA Pan-Cancer clinical file beside a new database and build the clinical
    models over IDC's real index (index only: ~30 s). Built once per pytest process."""
    from idc_qc.build import build
    from idc_qc.clinical import register

    require_shared(TCGA_CLINICAL)
    if "db" not in _built:
        db = Path(base) / "idc_qc.duckdb"
        register(TCGA_CLINICAL, db.parent / "idc_qc.clinical", patient_id_column="bcr_patient_barcode",
                 collection_column="acronym", collection_prefix="tcga_", collection_from_index=True)
        build(db, None, select=TCGA_SELECT)
        _built["db"] = db
    return _built["db"]


# ----------------------------------------------------------------------------------------
# The independent computation: plain pandas over the CSV and IDC's index parquet.
# ----------------------------------------------------------------------------------------

SEX = {"MALE": "Male", "FEMALE": "Female"}
DICOM_SEX = {"M": "Male", "F": "Female", "O": "Other"}
RACE = {"WHITE": "White", "BLACK OR AFRICAN AMERICAN": "Black", "ASIAN": "Asian",
        "AMERICAN INDIAN OR ALASKA NATIVE": "American Indian or Alaska Native",
        "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER": "Native Hawaiian or Other Pacific Islander"}
MIDRC_AGE = [(0, 18, "0-17 Years"), (18, 50, "18-49 Years"), (50, 65, "50-64 Years"), (65, 999, "65+ Years")]


def index_frame():
    import idc_index_data
    import pandas as pd

    return pd.read_parquet(idc_index_data.IDC_INDEX_PARQUET_FILEPATH,
                           columns=["collection_id", "PatientID", "Modality", "PatientSex", "PatientAge",
                                    "ManufacturerModelName"])


def clinical_frame(index):
    """The TCGA CSV with each patient's collection: tcga_<acronym> when IDC has it, else the
    one collection the index lists the patient in; rows placed nowhere are dropped here."""
    import pandas as pd

    clin = pd.read_csv(TCGA_CLINICAL, dtype=str, keep_default_na=False)
    collections = set(index["collection_id"])
    by_patient = index.groupby("PatientID")["collection_id"].unique()
    out = []
    for row in clin.itertuples(index=False):
        target = f"tcga_{row.acronym.lower()}" if row.acronym else ""
        if target not in collections:
            found = by_patient.get(row.bcr_patient_barcode)
            target = found[0] if found is not None and len(found) == 1 else None
        if target:
            out.append({**row._asdict(), "collection_id": target})
    return pd.DataFrame(out)


def _dicom_age_years(value):
    import re

    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{3}[DWMY]", text):
        return None
    years = int(text[:3]) / {"Y": 1.0, "M": 12.0, "W": 52.1775, "D": 365.25}[text[3]]
    return years if years <= 120 else None


def expected_patients(index, clin):
    """One row per (collection, patient) of the collections with clinical data, with coverage
    and the bias categories computed by hand."""
    import pandas as pd

    clinical_collections = set(clin["collection_id"])
    img = index[index["collection_id"].isin(clinical_collections)].copy()
    img["dicom_sex"] = img["PatientSex"].fillna("").str.strip().str.upper().map(
        {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "O": "O", "OTHER": "O"})
    img["dicom_age"] = img["PatientAge"].map(_dicom_age_years)
    img["ct_mr_pt"] = img["Modality"].isin(["CT", "MR", "PT"])
    per_patient = img.groupby(["collection_id", "PatientID"]).agg(
        sexes=("dicom_sex", lambda s: sorted(set(s.dropna()))),
        dicom_age=("dicom_age", "min"),
        ct_mr_pt=("ct_mr_pt", "any"),
    ).reset_index().rename(columns={"PatientID": "patient_id"})
    per_patient["has_imaging"] = True
    c = clin.rename(columns={"bcr_patient_barcode": "patient_id"})[
        ["collection_id", "patient_id", "gender", "race", "age_at_initial_pathologic_diagnosis", "days_to_birth"]].copy()
    c["has_clinical"] = True
    merged = per_patient.merge(c, on=["collection_id", "patient_id"], how="outer")
    merged["has_imaging"] = merged["has_imaging"].eq(True)
    merged["has_clinical"] = merged["has_clinical"].eq(True)
    merged["ct_mr_pt"] = merged["ct_mr_pt"].eq(True)

    def sex(row):
        clinical = SEX.get(str(row.gender).strip().upper()) if row.has_clinical else None
        sexes = row.sexes if isinstance(row.sexes, list) else []
        dicom = DICOM_SEX[sexes[0]] if len(sexes) == 1 else None
        return clinical or dicom or "Not reported", clinical, dicom

    def age(row):
        if row.dicom_age == row.dicom_age and row.dicom_age is not None:
            return row.dicom_age
        if row.has_clinical:
            a = pd.to_numeric(row.age_at_initial_pathologic_diagnosis, errors="coerce")
            if a == a:
                return a if 0 <= a <= 130 else None
            d = pd.to_numeric(row.days_to_birth, errors="coerce")
            if d == d:
                a = -d / 365.25
                return a if 0 <= a <= 130 else None
        return None

    sexes = merged.apply(sex, axis=1, result_type="expand")
    merged["sex_category"], merged["clinical_sex"], merged["dicom_sex"] = sexes[0], sexes[1], sexes[2]
    merged["sex_conflict"] = merged["clinical_sex"].notna() & merged["dicom_sex"].notna() & (
        merged["clinical_sex"] != merged["dicom_sex"])
    merged["race_category"] = merged["race"].fillna("").map(lambda r: RACE.get(r.strip().upper(), "Not reported"))
    merged["age"] = merged.apply(age, axis=1)
    merged["age_group_midrc"] = merged["age"].map(
        lambda a: next((g for lo, hi, g in MIDRC_AGE if a is not None and a == a and lo <= a < hi), "Not reported"))
    return merged


def census_shares(attribute: str) -> dict[str, float]:
    """Shares (0-1) of one attribute of the shared census file, MIDRC's names."""
    import pandas as pd

    census = pd.read_csv(require_shared(CENSUS_SHARED))
    part = census[census["attribute"] == attribute]
    return dict(zip(part["category"], part["percent_of_us_population"] / 100.0))
