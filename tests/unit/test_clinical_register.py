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


def test_a_replacement_from_another_file_takes_the_old_files_rejections_with_it(tmp_path, index_dir):
    """Issue 23: v2.csv replaces v1.csv's table; v1.csv's rejected rows went with it (they stayed)."""
    store = tmp_path / "store"
    v1 = _write(tmp_path, "id,gender\nTCGA-A1,MALE\n,FEMALE\n", "v1.csv")
    other = _write(tmp_path, "id,gender\nTCGA-B1,MALE\n,FEMALE\n", "other.csv")
    register(v1, store, patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    register(other, store, patient_id_column="id", collection="tcga_luad", index_dir=index_dir)
    v2 = _write(tmp_path, "id,gender\nTCGA-A1,MALE\nTCGA-A2,FEMALE\n", "v2.csv")
    again = register(v2, store, patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    assert again.replaced_tables == ["tcga_brca_clinical"]
    rejected = pd.read_parquet(store / "rejected_rows.parquet")
    # v1's rejection is gone with its table; other.csv's table stays, and so does its rejection
    assert rejected["source_file"].tolist() == [str(other.resolve())]
    assert sorted(pd.read_parquet(store / "table_metadata.parquet")["table_name"]) == \
        ["tcga_brca_clinical", "tcga_luad_clinical"]


def _patients(n: int) -> str:
    return "".join(f"TCGA-A{i},MALE,{40 + i}\n" for i in range(3, 3 + n))


def test_an_unclosed_quote_rejects_every_line_it_swallows_one_by_one(tmp_path, index_dir):
    """Issue 23: a quote opened on line 3 and never closed swallowed ten patients into one
    rejected row ("Read 2 rows: 1 written, 1 rejected"); each line is now its own rejection."""
    text = 'id,gender,age\nTCGA-A1,MALE,50\nTCGA-A2,"FEMALE,60\n' + _patients(10)
    store = tmp_path / "store"
    result = register(_write(tmp_path, text), store, patient_id_column="id", collection="tcga_brca",
                      index_dir=index_dir)
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (12, 1, 11)
    assert result.rejected_reasons == {"broken_quote": 11}
    rejected = pd.read_parquet(store / "rejected_rows.parquet")
    assert rejected["source_row"].tolist() == list(range(3, 14))
    assert set(rejected["detail"]) == {"inside a quote opened on line 3 and never closed"}
    assert '"TCGA-A7,MALE,47"' in rejected.loc[rejected["source_row"] == 8, "raw"].iloc[0]
    assert result.notices == ["a quote gone wrong: inside a quote opened on line 3 and never closed; lines 3-13 "
                              "rejected one by one (broken_quote); fix the quote and register the file again"]
    _accounted(result, store)


def test_a_stray_quote_closed_by_another_rejects_the_lines_between(tmp_path, index_dir):
    """Two stray quotes made one row of three lines with the right field count: accepted
    silently before; each line is rejected now. A real multi-line field stays one row."""
    text = ('id,gender,note\nTCGA-A1,MALE,"two\nlines"\nTCGA-A2,FEMALE,"x\nTCGA-A3,MALE,y\n'
            'TCGA-A4,MALE,z"\nTCGA-A5,FEMALE,ok\n')
    store = tmp_path / "store"
    result = register(_write(tmp_path, text), store, patient_id_column="id", collection="tcga_brca",
                      index_dir=index_dir)
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (5, 2, 3)
    rejected = pd.read_parquet(store / "rejected_rows.parquet")
    assert rejected["source_row"].tolist() == [4, 5, 6]
    assert rejected["detail"].iloc[0].startswith("inside a quote opened on line 4 and closed on line 6")
    table = pd.read_parquet(store / "tcga_brca_clinical.parquet")
    assert table["note"].tolist() == ["two\nlines", "ok"] and table["source_row"].tolist() == [2, 7]
    _accounted(result, store)


@pytest.mark.parametrize("encoding,bom", [("utf-16", True), ("utf-16-le", False), ("utf-16-be", False),
                                          ("utf-8-sig", True), ("utf-32", True)])
def test_utf16_utf32_and_byte_order_marks_are_detected(tmp_path, index_dir, encoding, bom):
    """Issue 23: a UTF-16 CSV was read as Latin-1 (its header 'ÿþp a t i e n t')."""
    text = "id,gender,site\nTCGA-A1,MALE,São Paulo\nTCGA-A2,FEMALE,Zürich\n"
    store = tmp_path / "store"
    result = register(_write(tmp_path, text.encode(encoding)), store, patient_id_column="id", collection="tcga_brca",
                      index_dir=index_dir)
    assert (result.rows_read, result.rows_written) == (2, 2)
    assert result.encoding.endswith(", byte order mark" if bom else ", no byte order mark")
    assert not result.notices
    table = pd.read_parquet(store / "tcga_brca_clinical.parquet")
    assert table["site"].tolist() == ["São Paulo", "Zürich"]


def test_nul_bytes_that_are_not_utf16_are_a_clear_error(tmp_path, index_dir):
    path = _write(tmp_path, b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binary", "sheet.csv")
    with pytest.raises(ClinicalInputError, match="NUL bytes and is not UTF-16 text: not a CSV"):
        register(path, tmp_path / "store", patient_id_column="id", collection="tcga_brca", index_dir=index_dir)


def test_a_registration_waits_for_the_store_lock_and_gives_up_with_one_line(tmp_path, index_dir):
    from idc_qc.clinical.register import store_lock

    store = tmp_path / "store"
    path = _write(tmp_path, "id,gender\nTCGA-A1,MALE\n")
    waiting = pytest.raises(ClinicalInputError, match="another registration \\(pid .*\\) is still writing")
    with store_lock(store), waiting, store_lock(store, wait=0.3):
        pass
    register(path, store, patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    assert not (tmp_path / "store.lock").exists()


def test_a_build_reads_its_own_store_or_an_explicit_one_and_says_which(tmp_path, index_dir, monkeypatch):
    """Issue 20: a store beside --db applied to every database of the folder. choose_store is
    what idc_qc.build uses (its one notice line)."""
    from idc_qc.clinical import choose_store

    monkeypatch.delenv("IDC_QC_CLINICAL_DIR", raising=False)
    data = _write(tmp_path, "id,gender\nTCGA-A1,MALE\n")
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    register(data, tmp_path / "one.clinical", patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    chosen = choose_store(one)
    assert chosen.store == tmp_path / "one.clinical"
    assert chosen.line == f"clinical data: 1 table from {tmp_path / 'one.clinical'} (this database's store)"
    assert clinical_dbt_vars(chosen.store)["clinical_tables"][0]["table_name"] == "tcga_brca_clinical"
    other = choose_store(two)  # the unrelated database in the same folder reads nothing
    assert other.store is None and clinical_dbt_vars(other.store)["clinical_tables"] == []
    assert other.line.startswith(f"clinical data: none ({tmp_path / 'two.clinical'} holds no store")
    # the folder-wide store of earlier versions is not read, and the line says so
    register(data, tmp_path / "clinical", patient_id_column="id", collection="tcga_brca", index_dir=index_dir)
    line = choose_store(two).line
    assert choose_store(two).store is None and f"--clinical {tmp_path / 'clinical'}" in line and "was not read" in line
    # explicit: --clinical, then $IDC_QC_CLINICAL_DIR; one that holds nothing is an error
    assert choose_store(two, tmp_path / "clinical").line.endswith("(--clinical)")
    monkeypatch.setenv("IDC_QC_CLINICAL_DIR", str(tmp_path / "clinical"))
    assert choose_store(two).store == tmp_path / "clinical"
    with pytest.raises(IdcQcError, match="--clinical .*typo: no clinical store there|no clinical store there"):
        choose_store(two, tmp_path / "typo")
