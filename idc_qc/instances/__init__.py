"""The instance-level input (IDC's ``dicom_all`` shape): its declared columns
(:mod:`.schema`), the files ``--instances`` names (:mod:`.files`) and the contract check
(:mod:`.contract`).

The names below are imported when first asked for, so that a module needing only
:mod:`.files` (the output folders' names: ``idc-qc ingest``'s rerun reads them before anything
else) does not load the contract check and the schema."""

from __future__ import annotations

_HOMES = {
    "ContractReport": "contract", "check_instances": "contract",
    "dbt_instances_var": "files", "duckdb_literal_path": "files", "resolve_instances": "files",
    "COLUMNS": "schema", "OPTIONAL": "schema", "REQUIRED": "schema", "InstanceColumn": "schema",
    "arrow_schema": "schema", "arrow_type": "schema",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
