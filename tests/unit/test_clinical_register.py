"""`idc-qc clinical add` on bad and awkward input: a clear error or a classified row, and
every row accounted for (rows read = rows written + rows rejected; blank lines counted)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from idc_qc.clinical import clinical_dbt_vars, register
from idc_qc.clinical.register import ClinicalInputError
from idc_qc.errors import IdcQcError


@pytest.fixture()
def index_dir(tmp_path) -> Path:
    """A tiny stand-in for IDC's index: which patient is in which collection."""
    folder = tmp_path / "index"
    folder.mkdir()
    pd.DataFrame({
        "collection_id": ["tcga_brca", "tcga_brca", "tcga_luad", "tcga_luad", "nlst"],
        "PatientID": ["TCGA-A1", "TCGA-A2", "TCGA-B1", "TWICE", "TWICE"],
    }).to_parquet(folder / "idc_index.parquet")
    return folder


def _write(tmp_path: Path, text: str | bytes, name: str = "clinical.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _accounted(result, store: Path) -> None:
    assert result.rows_read == result.rows_written + result.rows_rejected
    written = sum(len(pd.read_parquet(store / f"{t}.parquet")) for t in result.tables)
    assert written == result.rows_written
    rejected = pd.read_parquet(store / "rejected_rows.parquet")
    assert len(rejected[rejected["source_file"] == str(result.source.resolve())]) == result.rows_rejected


def test_zero_byte_file_is_a_clear_error(tmp_path, index_dir):
    path = _write(tmp_path, b"")
    with pytest.raises(ClinicalInputError, match="empty \\(0 bytes\\)"):
        register(path, tmp_path / "store", patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    assert not (tmp_path / "store").exists()


def test_only_blank_lines_is_a_clear_error(tmp_path, index_dir):
    path = _write(tmp_path, "\n\n  \n")
    with pytest.raises(ClinicalInputError, match="no header line"):
        register(path, tmp_path / "store", patient_id_column="id", collection="tcga_brca", index_dir=index_dir)


def test_missing_id_column_names_it_and_the_columns_found(tmp_path, index_dir):
    path = _write(tmp_path, "patient,gender\nTCGA-A1,MALE\n")
    with pytest.raises(ClinicalInputError) as info:
        register(path, tmp_path / "store", patient_id_column="patient_id", collection="tcga_brca", index_dir=index_dir)
    message = str(info.value)
    assert "'patient_id' is not a column" in message and "patient, gender" in message
    assert "did you mean patient" in message


def test_unknown_collection_is_an_error_with_a_suggestion(tmp_path, index_dir):
    path = _write(tmp_path, "id,gender\nTCGA-A1,MALE\n")
    with pytest.raises(ClinicalInputError, match="'tcga_brac' is not a collection.*did you mean tcga_brca"):
        register(path, tmp_path / "store", patient_id_column="id", collection="tcga_brac", index_dir=index_dir)


def test_blank_lines_duplicates_and_bad_rows_are_accounted_for(tmp_path, index_dir):
    text = ("id,acronym,gender,age\n"
            "TCGA-A1,BRCA,MALE,50\n"
            "\n"
            "TCGA-A1,BRCA,MALE,50\n"          # duplicated patient: kept, counted
            ",BRCA,FEMALE,40\n"                # no patient ID: rejected
            "TCGA-X9,XXXX,FEMALE,40\n"         # unknown collection: rejected
            "TCGA-B1,LUAD,FEMALE\n"            # too few fields: rejected
            "   \n"
            "TCGA-B1,LUAD,FEMALE,61\n")
    store = tmp_path / "store"
    result = register(_write(tmp_path, text), store, patient_id_column="id", collection_column="acronym",
                      collection_prefix="tcga_", index_dir=index_dir)
    assert result.blank_lines == 2
    assert result.rows_read == 6
    assert result.tables == {"tcga_brca_clinical": 2, "tcga_luad_clinical": 1}
    assert result.rejected_reasons == {"missing_patient_id": 1, "unknown_collection": 1, "field_count": 1}
    assert result.duplicate_patient_rows == 2
    _accounted(result, store)
    rejected = pd.read_parquet(store / "rejected_rows.parquet").set_index("reason")
    assert rejected.loc["field_count", "source_row"] == 7  # the line of the file, blank lines counted
    table = pd.read_parquet(store / "tcga_brca_clinical.parquet")
    assert list(table.columns[:3]) == ["dicom_patient_id", "source_batch", "source_row"]
    assert table["source_row"].tolist() == [2, 4]


def test_collection_from_index_places_rows_and_rejects_the_rest(tmp_path, index_dir):
    text = "id,gender\nTCGA-A1,MALE\nTCGA-B1,FEMALE\nNOWHERE,MALE\nTWICE,FEMALE\n"
    store = tmp_path / "store"
    result = register(_write(tmp_path, text), store, patient_id_column="id", collection_from_index=True,
                      index_dir=index_dir)
    assert result.tables == {"tcga_brca_clinical": 1, "tcga_luad_clinical": 1}
    assert result.rejected_reasons == {"patient_not_in_index": 1, "patient_in_several_collections": 1}
    _accounted(result, store)


def test_latin1_file_is_read_and_said_so(tmp_path, index_dir):
    text = "id;gender;site\nTCGA-A1;MALE;São Paulo\nTCGA-A2;FEMALE;Zürich\n".encode("latin-1")
    store = tmp_path / "store"
    result = register(_write(tmp_path, text), store, patient_id_column="id", collection="tcga_brca",
                      index_dir=index_dir)
    assert result.encoding == "latin-1"
    assert any("latin-1" in n for n in result.notices)
    table = pd.read_parquet(store / "tcga_brca_clinical.parquet")
    assert table["site"].tolist() == ["São Paulo", "Zürich"]
    _accounted(result, store)


def test_dictionary_is_inferred_in_idc_shape(tmp_path, index_dir):
    text = "Patient ID,Gender,Age at Diagnosis,Race,Vital Status,Score\nTCGA-A1,MALE,50,WHITE,Alive,1.5\n" \
           "TCGA-A2,FEMALE,61,ASIAN,Dead,2\n"
    store = tmp_path / "store"
    result = register(_write(tmp_path, text), store, patient_id_column="Patient ID", collection="tcga_brca",
                      index_dir=index_dir)
    assert result.concepts["tcga_brca_clinical"] == {"sex": "gender", "age_years": "age_at_diagnosis",
                                                     "race": "race", "vital_status": "vital_status"}
    columns = pd.read_parquet(store / "column_metadata.parquet").set_index("column")
    assert columns.loc["dicom_patient_id", "case_col"]
    assert columns.loc["dicom_patient_id", "original_column_headers"] == "Patient ID"
    assert columns.loc["age_at_diagnosis", "data_type"] == "INT64"
    assert columns.loc["score", "data_type"] == "FLOAT64"
    assert [v["option_code"] for v in columns.loc["gender", "values"]] == ["FEMALE", "MALE"]
    tables = pd.read_parquet(store / "table_metadata.parquet")
    assert tables["table_name"].tolist() == ["tcga_brca_clinical"] and tables["rows"].tolist() == [2]
    entry = clinical_dbt_vars(store)["clinical_tables"][0]
    assert entry["sex"] == "gender" and entry["ethnicity"] is None


def test_given_dictionary_overrides_and_is_checked(tmp_path, index_dir):
    data = _write(tmp_path, "id,s,a\nTCGA-A1,1,50\n")
    good = _write(tmp_path, "column,label,data_type,concept,values\ns,Sex,STRING,sex,1=Male;2=Female\n"
                            "a,Age,FLOAT64,age_years,\n", "dict.csv")
    store = tmp_path / "store"
    result = register(data, store, patient_id_column="id", collection="tcga_brca", dictionary=good, index_dir=index_dir)
    assert result.concepts["tcga_brca_clinical"] == {"sex": "s", "age_years": "a"}
    columns = pd.read_parquet(store / "column_metadata.parquet").set_index("column")
    assert columns.loc["s", "column_label"] == "Sex"
    assert list(columns.loc["s", "values"][1].values()) == ["2", "Female"]
    wrong = _write(tmp_path, "column,concept\nnope,sex\n", "wrong.csv")
    with pytest.raises(IdcQcError, match="'nope' is not in the clinical file"):
        register(data, store, patient_id_column="id", collection="tcga_brca", dictionary=wrong, index_dir=index_dir)
    bad_type = _write(tmp_path, "column,data_type\ns,INT64\n", "bad_type.csv")
    data2 = _write(tmp_path, "id,s\nTCGA-A1,male\n", "data2.csv")
    with pytest.raises(IdcQcError, match="'s' is declared INT64 but holds 1 value"):
        register(data2, store, patient_id_column="id", collection="tcga_brca", dictionary=bad_type, index_dir=index_dir)


def test_registering_again_replaces_the_table_and_its_rejections(tmp_path, index_dir):
    store = tmp_path / "store"
    path = _write(tmp_path, "id,gender\nTCGA-A1,MALE\n,MALE\n")
    register(path, store, patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    path.write_text("id,gender\nTCGA-A1,MALE\nTCGA-A2,FEMALE\n")
    again = register(path, store, patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    assert again.replaced_tables == ["tcga_brca_clinical"]
    assert len(pd.read_parquet(store / "tcga_brca_clinical.parquet")) == 2
    assert len(pd.read_parquet(store / "rejected_rows.parquet")) == 0
    assert len(pd.read_parquet(store / "table_metadata.parquet")) == 1


def test_parquet_input(tmp_path, index_dir):
    path = tmp_path / "clinical.parquet"
    pd.DataFrame({"id": ["TCGA-A1", None], "sex": ["M", "F"], "age": [50.0, None]}).to_parquet(path)
    store = tmp_path / "store"
    result = register(path, store, patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    assert (result.rows_read, result.rows_written, result.rejected_reasons) == (2, 1, {"missing_patient_id": 1})
    _accounted(result, store)


def test_no_store_means_no_clinical_vars(tmp_path):
    assert clinical_dbt_vars(tmp_path / "absent") == {"clinical_dir": "", "clinical_tables": []}
