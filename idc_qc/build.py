"""The build: check the input against the contract, then run dbt with progress shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .instances import ContractReport, arrow_schema, check_instances, dbt_instances_var
from .dbt_runner import DbtRunResult, NodeCallback, dbt_vars, run_dbt


@dataclass
class BuildResult:
    db_path: Path
    instances: str | list[str]
    contract: ContractReport | None
    dbt: DbtRunResult


def empty_instances_file(folder: Path) -> Path:
    """A zero-row parquet file with every contract column, for builds of the index alone."""
    import pyarrow.parquet as pq

    schema = arrow_schema()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "no_instances.parquet"
    pq.write_table(schema.empty_table(), path)
    return path


def build(
    db_path: Path,
    instances: str | None = None,
    *,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    on_node: NodeCallback | None = None,
    extra_vars: dict | None = None,
    whole_index: bool = False,
) -> BuildResult:
    """Build the idc-qc models into the DuckDB file ``db_path``.

    Without ``instances`` only the index is read (an empty instance table stands in),
    which is how ``series`` is built over the full real IDC index. With ``instances``,
    ``series`` covers the input's series (dbt var ``series_scope: input``) unless
    ``whole_index`` asks for every series of the index as well.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    contract: ContractReport | None = None
    if instances is None:
        source = dbt_instances_var([str(empty_instances_file(db_path.resolve().parent))])
        absent: list[str] = []
    else:
        contract = check_instances(instances)
        source = dbt_instances_var(contract.files)  # exactly the files checked, each read literally
        absent = contract.absent_optional
    result = run_dbt(
        "build",
        db_path=db_path,
        vars=dbt_vars(instances=source, absent_columns=absent, **{
            "series_scope": "input" if instances is not None and not whole_index else "index",
            **(extra_vars or {}),
        }),
        select=select,
        exclude=exclude,
        on_node=on_node,
    )
    return BuildResult(db_path=db_path, instances=source, contract=contract, dbt=result)


ProgressFactory = Callable[[], NodeCallback]
