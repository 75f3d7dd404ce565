"""Moved to :mod:`idc_qc.instances` (schema, files, contract); kept for old imports
(benchmarks/bench_geometry.py). New code imports from ``idc_qc.instances``."""

from __future__ import annotations

from .instances.contract import ContractReport, check_instances
from .instances.files import dbt_instances_var, resolve_instances
from .instances.schema import INTEGER, OPTIONAL, REQUIRED, STRING, STRING_ARRAY

resolve_files = resolve_instances


def instances_glob(instances: str) -> list[str]:
    """The dbt var ``instances`` for ``instances``: its resolved files, each read literally."""
    return dbt_instances_var(resolve_instances(instances))


__all__ = ["INTEGER", "OPTIONAL", "REQUIRED", "STRING", "STRING_ARRAY", "ContractReport", "check_instances",
           "instances_glob", "resolve_files"]
