"""The instance-level input (IDC's ``dicom_all`` shape): its declared columns
(:mod:`.schema`), the files ``--instances`` names (:mod:`.files`) and the contract check
(:mod:`.contract`)."""

from .contract import ContractReport, check_instances
from .files import dbt_instances_var, duckdb_literal_path, resolve_instances
from .schema import COLUMNS, OPTIONAL, REQUIRED, InstanceColumn, arrow_schema, arrow_type

__all__ = ["COLUMNS", "OPTIONAL", "REQUIRED", "ContractReport", "InstanceColumn", "arrow_schema", "arrow_type",
           "check_instances", "dbt_instances_var", "duckdb_literal_path", "resolve_instances"]
