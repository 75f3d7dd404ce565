"""Clinical data beside the images, in IDC's shape (BigQuery dataset ``idc_v<NN>_clinical``).

A local clinical store is a folder of parquet files laid out like IDC's clinical dataset:

- one table per collection (``<collection_id>_clinical.parquet`` by default), keyed by
  ``dicom_patient_id`` (DICOM PatientID within that collection), with ``source_batch`` as
  in IDC and ``source_row`` (the line of the registered file each row came from);
- ``table_metadata.parquet`` and ``column_metadata.parquet`` with IDC's columns (labels,
  types, coded values), plus ``concept`` in column_metadata: which column holds sex, age,
  race, ethnicity or vital status (inferred from the column name, or given in a dictionary);
- ``rejected_rows.parquet``: every input row that could not be placed, with the reason.

Each database has its own store, named after it (``build/idc_qc.duckdb`` ->
``build/idc_qc.clinical/``), or an explicit one (``--clinical``/``--store``, or
$IDC_QC_CLINICAL_DIR): never one shared by every database of a folder.
``idc-qc clinical add`` writes it (:func:`register`, under the builds' lock);
``idc-qc build`` says which store it read (:func:`choose_store`) and reads it through the
dbt vars ``clinical_dir`` and ``clinical_tables`` (:func:`clinical_dbt_vars`).
"""

from .register import RegistrationResult, register
from .store import DEFAULT_STORE_NAME, choose_store, clinical_dbt_vars, default_store_for, read_store_summary

__all__ = ["RegistrationResult", "register", "DEFAULT_STORE_NAME", "choose_store", "clinical_dbt_vars",
           "default_store_for", "read_store_summary"]
