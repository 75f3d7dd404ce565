"""patient_clinical and rpt_clinical_coverage on a hand-made archive where each patient is one
case: agreement, a sex and an age conflict, a duplicated clinical row, imaging only, clinical
only, an ID with images only in another collection, an unmapped value."""

from __future__ import annotations

import pytest

from idc_qc.clinical import register
from support.data import query
from support.geometry import SeriesSpec, series_rows, write_instances

pytestmark = pytest.mark.slow  # one dbt build (~20 s)

#: (collection, PatientID, PatientSex, PatientAge, Modality) of the toy archive's series.
SERIES = [
    ("toy_a", "P1", "M", "050Y", "CT"),
    ("toy_a", "P2", "F", "070Y", "CT"),
    ("toy_a", "P2", "F", "070Y", "MR"),
    ("toy_a", "P3", "", "", "MR"),
    ("toy_b", "P5", "F", "040Y", "CT"),
    ("toy_b", "P7", "M", "030Y", "CT"),
    ("toy_b", "P7", "F", "030Y", "PT"),
]
CLINICAL = """id,gender,age_at_diagnosis,race,ethnicity,vital_status
P1,male,51,WHITE,Not Hispanic or Latino,Alive
P2,MALE,60,Black or African American,,Dead
P2,MALE,60,Black or African American,,Dead
P4,Female,,[Not Available],hispanic or latino,alive
P5,F,40,ASIAN,,
P6,f,33,Martian,,deceased
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from idc_qc.build import build

    work = tmp_path_factory.mktemp("clinical_toy")
    rows = []
    for k, (collection, patient, sex, age, modality) in enumerate(SERIES):
        for row in series_rows(SeriesSpec(uid=f"1.2.826.0.1.3680043.8.498.777.{k}", n=3, modality=modality)):
            row.update(collection_id=collection, PatientID=patient, PatientSex=sex, PatientAge=age)
            rows.append(row)
    instances = write_instances(rows, work / "instances.parquet")
    (work / "clinical.csv").write_text(CLINICAL)
    db = work / "idc_qc.duckdb"
    result = register(work / "clinical.csv", work / "idc_qc.clinical", patient_id_column="id", collection="toy_a",
                      allow_unknown_collection=True)
    assert result.rows_written == 6 and result.duplicate_patient_rows == 2
    build(db, str(instances), select=["+patient_clinical+"],
          on_progress=lambda e: NOTICES.append(e.text) if e.kind == "notice" else None)
    return db


#: The build's notices (the fixture's build), for the line that says which store it read.
NOTICES: list[str] = []


def test_the_build_says_which_store_it_read(db):
    """Issue 20: the store is the database's own (<stem>.clinical), and the build says so in one line."""
    store = db.with_name("idc_qc.clinical")
    assert [n for n in NOTICES if n.startswith("clinical data:")] == \
        [f"clinical data: 1 table from {store} (this database's store)"]


def _patients(db) -> dict[str, dict]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute("select * from patient_clinical")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    return {row["patient_key"]: row for row in rows}


def test_one_row_per_collection_and_patient(db):
    assert sorted(_patients(db)) == ["toy_a/P1", "toy_a/P2", "toy_a/P3", "toy_a/P4", "toy_a/P5", "toy_a/P6",
                                     "toy_b/P5", "toy_b/P7"]


def test_values_sources_and_conflicts(db):
    p = _patients(db)
    one = p["toy_a/P1"]
    assert (one["sex"], one["sex_source"], one["sex_conflict"]) == ("Male", "clinical", False)
    assert (one["age_years"], one["age_source"], one["age_conflict"]) == (50.0, "dicom", False)
    assert (one["race"], one["ethnicity"], one["vital_status"]) == ("White", "Not Hispanic or Latino", "Alive")
    two = p["toy_a/P2"]
    assert (two["dicom_sex"], two["clinical_sex"], two["sex_conflict"]) == ("Female", "Male", True)
    assert (two["age_difference_years"], two["age_conflict"]) == (10.0, True)
    assert two["clinical_row_count"] == 2 and two["modalities"] == "CT,MR"
    three = p["toy_a/P3"]
    assert (three["has_imaging"], three["has_clinical"], three["sex_category"], three["age_group_midrc"]) == (
        True, False, "Not reported", "Not reported")
    four = p["toy_a/P4"]
    assert (four["race_category"], four["clinical_race_status"], four["ethnicity"]) == (
        "Not reported", "missing", "Hispanic or Latino")
    six = p["toy_a/P6"]
    assert (six["race_category"], six["clinical_race_status"], six["vital_status"]) == ("Unmapped", "unmapped", "Dead")
    seven = p["toy_b/P7"]  # DICOM series disagree: no DICOM sex, and the count says why
    assert (seven["dicom_sex"], seven["dicom_sex_values"], seven["sex_category"]) == (None, 2, "Not reported")


def test_coverage_classification(db):
    rows = {r[0]: r[1:] for r in query(db, "select patient_key, coverage_status, has_duplicate_clinical_rows, "
                                           "matches_only_in_other_collection, other_collections_with_imaging "
                                           "from rpt_clinical_coverage")}
    assert rows == {
        "toy_a/P1": ("imaging_and_clinical", False, False, None),
        "toy_a/P2": ("imaging_and_clinical", True, False, None),
        "toy_a/P3": ("imaging_only", False, False, None),
        "toy_a/P4": ("clinical_only", False, False, None),
        "toy_a/P5": ("clinical_only", False, True, "toy_b"),
        "toy_a/P6": ("clinical_only", False, False, None),
    }  # toy_b has no clinical data: not in the coverage rows
    summary = query(db, "select collection_id, patients, imaging_and_clinical, imaging_only, clinical_only, "
                        "clinical_only_matching_other_collection, patients_with_duplicate_clinical_rows, sex_conflicts, "
                        "age_conflicts from rpt_clinical_coverage_summary order by collection_id")
    assert summary == [("(all)", 6, 2, 1, 3, 1, 1, 1, 1), ("toy_a", 6, 2, 1, 3, 1, 1, 1, 1)]


def test_bias_counts_patients_with_imaging_and_keeps_missing(db):
    rows = query(db, "select category, n from rpt_bias_distributions where group_value = 'toy_a' and attribute = 'sex'")
    assert sorted(rows) == [("Male", 2), ("Not reported", 1)]
