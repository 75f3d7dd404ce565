"""idc-qc: metadata analytics and data-quality SQL for DICOM archives shaped like NCI's IDC."""

__version__ = "0.1.0"
