"""DICOM headers in, IDC's ``dicom_all`` shape out (docs/ingest.md).

- :mod:`.files`     walk folders (no symlink loops) and read one file's header (pydicom, no pixels)
- :mod:`.dataset`   one pydicom Dataset -> one dicom_all-shaped row (shared with a DICOMweb reader)
- :mod:`.writer`    rows -> parquet parts with one schema
- :mod:`.manifest`  the output folder's manifest, file list (incremental reruns) and errors table
- :mod:`.run`       :func:`ingest`, the function behind ``idc-qc ingest`` (folders and files)
- :mod:`.dicomweb`  the same output from a DICOMweb server (QIDO-RS lists, WADO-RS metadata):
  :mod:`.dicomweb_client` (HTTP, credentials, retries), :mod:`.dicomweb_listing` (studies, series,
  paging), :mod:`.dicomweb_json` (DICOM JSON -> Dataset)
"""
