"""A warehouse every command that takes SQL text can run on, made without dbt (fast), and the
hostile SQL cases each of them must refuse or contain.

``make_selection_warehouse`` extends :func:`support.query.make_warehouse` (a real DuckDB file
with a build record, staging views reading parquet in place, an index folder) with the
tables upset, bias, cohort and export read: ``series`` with its selection columns,
``rpt_geometry_upset_series`` (IDC's eight checks, one reason), ``geometry_reasons``,
``patient_clinical``, ``rpt_bias_distributions``, ``rpt_bias_census_reference`` and
``rpt_build_context``; and beside the database, a secret file in several formats that no
command may read.
"""

from __future__ import annotations

from pathlib import Path

from support.query import make_warehouse

SECRET_TEXT = "password-that-must-not-leak"
CHECKS = ["single_orientation", "orthogonal_orientation", "unique_slice_positions", "consistent_in_plane_row",
          "consistent_in_plane_col", "consistent_pixel_spacing", "consistent_image_dimensions", "uniform_slice_spacing"]


def make_selection_warehouse(root: Path) -> dict:
    """{db, root, secret, secret_json, secret_parquet, index}: the database and the files that must stay unread."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    index_dir = root / "index"
    index_dir.mkdir(parents=True, exist_ok=True)
    uids = ["1.2.3", "1.2.4", "1.2.5", "1.2.6"]
    pq.write_table(pa.table({
        "SeriesInstanceUID": uids, "collection_id": ["nlst", "nlst", "tcga_brca", "tcga_brca"],
        "PatientID": ["p1", "p2", "p3", "p4"], "StudyInstanceUID": [u + ".0" for u in uids],
        "Modality": ["CT", "CT", "MR", "CT"], "BodyPartExamined": ["CHEST", "CHEST", "BREAST", "CHEST"],
        "Manufacturer": ["GE", "SIEMENS", "GE", "GE"],
        "crdc_series_uuid": [f"uuid-{i}" for i in range(4)],
        "series_aws_url": [f"s3://idc-open-data/uuid-{i}/*" for i in range(4)],
        "instanceCount": [2, 3, 4, 5], "series_size_MB": [1.0, 2.0, 3.0, 4.0],
        "source_DOI": ["10.x/nlst", "10.x/nlst", "10.x/brca", "10.x/brca"], "license_short_name": ["CC BY 4.0"] * 4,
    }), index_dir / "idc_index.parquet")
    db = make_warehouse(root, index_dir=index_dir)
    fails = ", ".join(f"SeriesInstanceUID in {('1.2.3', '1.2.5') if i % 2 else ('1.2.3', '1.2.3')} as fails_{check}"
                      for i, check in enumerate(CHECKS))
    with duckdb.connect(str(db)) as con:
        con.execute("drop table series")
        con.execute("""
            create table series as select * from (values
                ('1.2.3', 'nlst', 'p1', 'CT', 'GE', 'LightSpeed', 'CHEST', 1, 21),
                ('1.2.4', 'nlst', 'p2', 'CT', 'Siemens', 'Sensation', 'CHEST', 1, 21),
                ('1.2.5', 'tcga_brca', 'p3', 'MR', 'GE', 'Signa', 'BREAST', 3, 21),
                ('1.2.6', 'tcga_brca', 'p4', 'CT', 'GE', 'LightSpeed', 'CHEST', 20, 21)
            ) t(SeriesInstanceUID, collection_id, PatientID, Modality, manufacturer_harmonized,
                ManufacturerModelName, body_part_examined, first_idc_release, last_idc_release)""")
        con.execute(f"""
            create view rpt_geometry_upset_series as
            select SeriesInstanceUID, collection_id, Modality, manufacturer_harmonized as manufacturer,
                   {fails}, SeriesInstanceUID = '1.2.3' as reason_repeated_positions,
                   PatientID, body_part_examined, first_idc_release, last_idc_release
            from series""")
        con.execute("create table geometry_reasons as select * from (values "
                    "('repeated_positions', 'repeated slice positions', 'series')) t(reason_key, label, level)")
        con.execute("""
            create table patient_clinical as select * from (values
                ('nlst', 'p1', 'nlst/p1', 'Male', '45 to 54 years', '18-49', 'White', 'Not Hispanic or Latino'),
                ('nlst', 'p2', 'nlst/p2', 'Female', '55 to 64 years', '50-64', 'White', 'Not reported'),
                ('tcga_brca', 'p3', 'tcga_brca/p3', 'Female', '45 to 54 years', '18-49', 'Black', 'Not reported'),
                ('tcga_brca', 'p4', 'tcga_brca/p4', 'Female', '65 to 74 years', '65+', 'Asian', 'Not reported')
            ) t(collection_id, patient_id, patient_key, sex_category, age_group_census, age_group_midrc,
                race_category, ethnicity_category)""")
        con.execute("""
            create table rpt_bias_distributions as
            select 'archive' as group_by, 'archive' as group_value, 'sex' as attribute, sex_category as category,
                   'patients' as unit, count(*) as n, 4 as group_total, count(*) / 4 as share
            from patient_clinical group by all
            union all
            select 'collection_id', collection_id, 'sex', sex_category, 'patients', count(*), 2, count(*) / 2
            from patient_clinical group by all""")
        con.execute("create table rpt_bias_census_reference as select * from (values "
                    "('sex', 'Male', 0.49), ('sex', 'Female', 0.51)) t(attribute, category, share)")
        con.execute("create table rpt_build_context as select 'synthetic' as input_kind, 'sandbox test' as input_detail")
    secret = root / "secret.csv"
    secret.write_text(f"secret\n{SECRET_TEXT}\n")
    secret_json = root / "secret.json"
    secret_json.write_text(f'{{"secret": "{SECRET_TEXT}"}}\n')
    secret_parquet = root / "secret.parquet"
    pq.write_table(pa.table({"secret": [SECRET_TEXT]}), secret_parquet)
    return {"db": db, "root": root, "secret": secret, "secret_json": secret_json, "secret_parquet": secret_parquet,
            "index": index_dir / "idc_index.parquet"}


#: What a statement option (``query``, ``cohort create SQL``) may do with each kind of case.
#: A file read, a URL: refused by the check or denied by the connection. Anything else (a
#: "break-out" is only SQL where no query surrounds the text): refused, or run contained.
STATEMENT_READS = {"refused", "denied"}
STATEMENT_OTHER = {"refused", "ran", "error"}
#: A write, a setting, a second statement: the statement check refuses it before anything opens.
STATEMENT_REFUSED = {"refused"}


def hostile_cases(root: Path, secret: Path, secret_json: Path, secret_parquet: Path) -> list[tuple[str, str, str, set]]:
    """(case, text, what a condition or expression option must do: ``refused`` or ``ran``,
    what a statement option may do).

    The text is a condition; an expression option (``--by``) takes it as it is, a statement
    option (``query``, ``cohort create``) runs ``select SeriesInstanceUID from series where <text>``.
    """
    written = root / "written"
    return [
        ("read_csv", f"SeriesInstanceUID in (select column0 from read_csv('{secret}', header=false))", "refused", STATEMENT_READS),
        ("read_text", f"cast((select content from read_text('{secret}')) as int) = 1", "refused", STATEMENT_READS),
        ("read_parquet", f"SeriesInstanceUID in (select secret from read_parquet('{secret_parquet}'))", "refused", STATEMENT_READS),
        ("read_json", f"SeriesInstanceUID in (select secret from read_json('{secret_json}'))", "refused", STATEMENT_READS),
        ("read_blob", f"(select count(*) from read_blob('{secret}')) > 0", "refused", STATEMENT_READS),
        ("glob", f"(select count(*) from glob('{root}/*')) > 0", "refused", STATEMENT_READS),
        ("sniff_csv", f"(select count(*) from sniff_csv('{secret}')) > 0", "refused", STATEMENT_READS),
        ("file as table", f"SeriesInstanceUID in (select * from '{secret}')", "refused", STATEMENT_READS),
        ("http URL", "(select count(*) from read_parquet('http://127.0.0.1:9/x.parquet')) > 0", "refused", STATEMENT_READS),
        ("https as table", "SeriesInstanceUID in (select * from 'https://example.com/x.csv')", "refused", STATEMENT_READS),
        ("query()", "(select count(*) from query('select 1')) > 0", "refused", STATEMENT_OTHER),
        ("COPY", f"1=1); copy series to '{written}.csv'; select (1", "refused", STATEMENT_REFUSED),
        ("ATTACH", f"1=1); attach '{written}.duckdb' as other; select (1", "refused", STATEMENT_REFUSED),
        ("INSTALL/LOAD", "1=1); install httpfs; load httpfs; select (1", "refused", STATEMENT_REFUSED),
        ("SET", "1=1); set enable_external_access = true; select (1", "refused", STATEMENT_REFUSED),
        ("PRAGMA", "1=1); pragma enable_profiling; select (1", "refused", STATEMENT_REFUSED),
        ("second statement", "1=1; drop table series", "refused", STATEMENT_REFUSED),
        ("parenthesis break-out", "Modality = 'MR') or (1=1", "refused", STATEMENT_OTHER),
        ("break-out + GROUP BY", "1=1) group by all having (1=1", "refused", STATEMENT_OTHER),
        ("break-out + UNION", f"1=0) union all select * from read_csv('{secret}') where (1=1", "refused", STATEMENT_REFUSED),
        ("comment hides a break-out", "Modality = 'MR' -- ) or (1=1", "ran", STATEMENT_OTHER),
        ("comment opens a break-out", "Modality = 'MR' /* ( */ ) or (1=1", "refused", STATEMENT_OTHER),
        ("parameter", "Modality = ?", "refused", STATEMENT_OTHER),
        ("information_schema subquery", "SeriesInstanceUID not in (select table_name from information_schema.tables)", "ran", STATEMENT_OTHER),
        ("duckdb_settings subquery", "'false' in (select value from duckdb_settings() where name = 'enable_external_access')", "ran", STATEMENT_OTHER),
    ]
