"""IDC's own published verdicts: the ``volume_geometry_index`` the idc-index client downloads.

IDC publishes ``volume_geometry_index`` (one row per CT, MR and PET series: its eight geometry
checks and ``regularly_spaced_3d_volume``); idc-index-data ships only the SQL and the schema
(``volume_geometry_index.sql``, ``volume_geometry_index_schema.json``), and the idc-index
client downloads the parquet into
``platformdirs.user_data_dir("idc_index_data", "IDC", version=<idc-index-data version>)``.

A build reads it when given (``idc-qc build --idc-indices DIR_OR_FILE``, ``build(idc_indices=...)``),
else when ``$IDC_QC_IDC_INDICES`` names it, else when idc-index's data folder holds it
(:func:`resolve_published`); ``none`` reads none. The file is checked here, before dbt runs:
every column of IDC's schema json must be there (a one-line error otherwise). The dbt var
``idc_volume_geometry_index`` carries its path to ``stg_idc_published__volume_geometry`` (empty:
an empty relation with IDC's columns), ``series_geometry_vs_idc`` sets it beside our verdicts;
the build's notice and the run manifest (its vars) say which file was read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import IdcQcError

#: The published index staging reads (others beside it are offered to `idc-qc query` only).
VOLUME_GEOMETRY_INDEX = "volume_geometry_index"
#: IDC's published indices `idc-qc query` offers (as IDC names them) when they sit beside the
#: volume_geometry_index a build read: the downloads of the idc-index client.
PUBLISHED_INDICES = ("volume_geometry_index", "ct_index", "mr_index", "pt_index", "seg_index", "clinical_index")
#: The dbt var holding its path ('' when the build reads none).
DBT_VAR = "idc_volume_geometry_index"
#: What switches discovery off (``--idc-indices none``, ``IDC_QC_IDC_INDICES=none``).
NONE_WORDS = {"none", "off", ""}


def _schema(table: str) -> dict:
    """IDC's schema json of ``table`` as idc-index-data ships it (``{}`` when unreadable)."""
    import idc_index_data

    path = Path(idc_index_data.__file__).resolve().parent / f"{table}_schema.json"
    try:
        schema = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return schema if isinstance(schema, dict) else {}


def published_schema_columns(table: str = VOLUME_GEOMETRY_INDEX) -> list[str]:
    """The columns IDC publishes for ``table``, from the schema json idc-index-data ships."""
    columns = [column["name"] for column in _schema(table).get("columns", [])]
    if not columns:
        raise IdcQcError(f"cannot read IDC's schema of {table} from idc-index-data ({table}_schema.json)")
    return columns


def published_description(table: str) -> str:
    """The first sentence of IDC's own description of ``table`` (its schema json); '' when absent."""
    text = str(_schema(table).get("table_description") or "")
    return text.split(". ")[0].strip().rstrip(".")


def published_files(volume_geometry_index: str | Path) -> dict[str, Path]:
    """IDC's published indices a query can read: the volume_geometry_index a build read, and the
    others of :data:`PUBLISHED_INDICES` that sit beside it (``<name>.parquet``)."""
    given = Path(volume_geometry_index)
    found = {VOLUME_GEOMETRY_INDEX: given} if given.is_file() else {}
    for name in PUBLISHED_INDICES[1:]:
        path = given.parent / f"{name}.parquet"
        if path.is_file():
            found[name] = path
    return found


@dataclass(frozen=True)
class PublishedIndex:
    """IDC's volume_geometry_index as a build reads it (``path`` None: no file read)."""

    path: Path | None = None
    found_by: str = ""   # "--idc-indices" | "$IDC_QC_IDC_INDICES" | "idc-index's data folder"
    series: int = 0

    @property
    def dbt_vars(self) -> dict[str, str]:
        return {DBT_VAR: "" if self.path is None else str(self.path)}

    @property
    def line(self) -> str:
        """The build's one notice about it."""
        if self.path is None:
            return ("IDC's published volume_geometry_index: none read (give the file idc-index downloads with "
                    "--idc-indices DIR to set IDC's verdicts beside ours)")
        return (f"IDC's published volume_geometry_index: {self.path} ({self.series:,} series; {self.found_by}), "
                "set beside our verdicts in series_geometry_vs_idc")


def _candidate(given: Path) -> Path:
    """The parquet file a folder or file argument names."""
    return given / f"{VOLUME_GEOMETRY_INDEX}.parquet" if given.is_dir() else given


def check_published(path: Path) -> int:
    """Check that ``path`` is IDC's volume_geometry_index (a parquet file with every column of IDC's
    schema json); its row count. One-line IdcQcError otherwise."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise IdcQcError(f"IDC's volume_geometry_index {path} cannot be read as parquet: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    have = {name.lower() for name in parquet.schema_arrow.names}
    expected = published_schema_columns()
    missing = [c for c in expected if c.lower() not in have]
    if missing:
        raise IdcQcError(
            f"{path} is not IDC's volume_geometry_index: it lacks column(s) {', '.join(missing)} "
            f"(IDC publishes {', '.join(expected)}); give the file idc-index downloads, "
            "or --idc-indices none to build without it")
    return parquet.metadata.num_rows


def resolve_published(given: Path | str | None = None,
                      environ: dict[str, str] | os._Environ[str] | None = None) -> PublishedIndex:
    """The volume_geometry_index a build reads.

    ``given``: a folder holding ``volume_geometry_index.parquet`` or the file itself (an error when
    absent); ``"none"``: none. ``None``: ``$IDC_QC_IDC_INDICES`` when set (the same forms), else
    the file in idc-index's data folder when it is there, else none."""
    from .paths import IDC_INDICES_ENV, idc_index_client_data_dir

    environ = os.environ if environ is None else environ
    found_by = "--idc-indices"
    if given is None and environ.get(IDC_INDICES_ENV) is not None:
        given, found_by = environ[IDC_INDICES_ENV], f"${IDC_INDICES_ENV}"
    if isinstance(given, str) and given.strip().lower() in NONE_WORDS:
        return PublishedIndex()
    if given is None:
        path = idc_index_client_data_dir() / f"{VOLUME_GEOMETRY_INDEX}.parquet"
        if not path.is_file():
            return PublishedIndex()
        path, found_by = path.resolve(), "found in idc-index's data folder"
    else:
        given = Path(given).expanduser()
        path = _candidate(given)
        if not path.is_file():
            where = f"no {VOLUME_GEOMETRY_INDEX}.parquet in {given}" if given.is_dir() else f"{given} does not exist"
            raise IdcQcError(f"IDC's published indices ({found_by}): {where}; give the folder idc-index downloads "
                             f"them to (or the parquet file), or none")
        path = path.resolve()
    return PublishedIndex(path=path, found_by=found_by, series=check_published(path))
