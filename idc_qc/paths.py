"""Where things are: the dbt project, the installed IDC index, default outputs.

The dbt project (dbt_project.yml, profiles.yml, models/, macros/, seeds/, analyses/,
expectations/) lives at the repository root, beside the ``idc_qc`` package. A wheel
carries a copy of it inside the package, at ``idc_qc/_project`` (setup.py puts it there).
:data:`PROJECT_DIR` is, in this order:

1. ``$IDC_QC_PROJECT_DIR``, when set (a dbt project of your own, or a patched copy);
2. the repository root, when this package runs from a checkout or an editable install
   (``dbt_project.yml`` and ``pyproject.toml`` beside the ``idc_qc`` folder);
3. the copy packaged in the wheel, ``idc_qc/_project``.

The project folder is only ever read: every output (DuckDB files, dbt's target and logs)
goes under the user's working directory or the folders they name, never beside the code.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import IdcQcError

#: Environment variable that points idc-qc at another dbt project folder.
PROJECT_DIR_ENV = "IDC_QC_PROJECT_DIR"

_PACKAGE_DIR = Path(__file__).resolve().parent
#: Where a wheel carries the dbt project (filled by setup.py's build_py).
PACKAGED_PROJECT_DIR = _PACKAGE_DIR / "_project"


def find_project_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """The dbt project folder: ``$IDC_QC_PROJECT_DIR``, else the checkout, else the packaged copy."""
    environ = os.environ if environ is None else environ
    override = environ.get(PROJECT_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    checkout = _PACKAGE_DIR.parent
    if (checkout / "dbt_project.yml").is_file() and (checkout / "pyproject.toml").is_file():
        return checkout
    return PACKAGED_PROJECT_DIR


#: The dbt project every dbt invocation runs (read-only).
PROJECT_DIR = find_project_dir()

#: Environment variable that moves idc-qc's cache (releases' indices, dbt's parsed project).
CACHE_ENV = "IDC_QC_CACHE_DIR"


def cache_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``$IDC_QC_CACHE_DIR``, else ``~/.cache/idc-qc``: what idc-qc may fetch or compute again."""
    environ = os.environ if environ is None else environ
    base = environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "idc-qc")
    return Path(base).expanduser()

#: Default outputs are relative to the working directory of the user, never to the package.
DEFAULT_BUILD_DIR = Path("build")
DEFAULT_DB = DEFAULT_BUILD_DIR / "idc_qc.duckdb"
#: Where ``idc-qc ingest`` writes without --out.
DEFAULT_INGEST_DIR = DEFAULT_BUILD_DIR / "ingest"
#: Names the database last built (``build``, ``demo``) or named with ``--db`` in this folder;
#: commands given no ``--db`` read that one (see :func:`default_db`).
LAST_DB_RECORD = DEFAULT_BUILD_DIR / "last_db.txt"


def remember_db(db: Path, record: Path | None = None) -> None:
    """Record ``db`` as the database later commands in this folder read when given no ``--db``.

    Best effort: a read-only or full disk loses the record, never the command's own work.
    """
    record = LAST_DB_RECORD if record is None else record
    path = Path(db)
    try:
        resolved = path.resolve()
        try:
            shown = resolved.relative_to(Path.cwd().resolve())
        except ValueError:
            shown = resolved
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(record.name + f".{os.getpid()}.tmp")
        tmp.write_text(f"{shown}\n", encoding="utf-8")
        os.replace(tmp, record)
    except OSError:
        pass


def default_db(record: Path | None = None) -> tuple[Path, bool]:
    """The database a command reads when given no ``--db``, and whether the record chose it.

    The database named in ``build/last_db.txt`` (the last one built or named with ``--db`` in
    this folder) when that file still exists; otherwise :data:`DEFAULT_DB`.
    """
    record = LAST_DB_RECORD if record is None else record
    try:
        text = record.read_text(encoding="utf-8").strip()
    except OSError:
        return DEFAULT_DB, False
    if text and Path(text).is_file():
        return Path(text), True
    return DEFAULT_DB, False


def idc_index_dir() -> Path:
    """Folder of the parquet files shipped by the installed ``idc-index-data`` package."""
    try:
        import idc_index_data
    except ImportError as exc:  # pragma: no cover - a broken install
        raise IdcQcError("the idc-index-data package is not installed (pip install idc-index-data)") from exc
    folder = Path(idc_index_data.IDC_INDEX_PARQUET_FILEPATH).parent
    if not (folder / "idc_index.parquet").exists():
        raise IdcQcError(f"idc-index-data has no idc_index.parquet in {folder}")
    return folder


def idc_index_version() -> str:
    import idc_index_data

    return idc_index_data.__version__


#: Environment variable naming IDC's published indices (idc-index's downloads) a build reads:
#: a folder holding volume_geometry_index.parquet, or that file; ``none`` reads none.
IDC_INDICES_ENV = "IDC_QC_IDC_INDICES"


def idc_index_client_data_dir(version: str | None = None) -> Path:
    """Where the idc-index client keeps the indices it downloads (volume_geometry_index.parquet, ...):
    ``platformdirs.user_data_dir("idc_index_data", "IDC", version=<idc-index-data version>)``, as
    idc-index computes it."""
    import platformdirs

    return Path(platformdirs.user_data_dir("idc_index_data", "IDC", version=version or idc_index_version()))


def require_project_dir() -> Path:
    """:data:`PROJECT_DIR`, or a one-line error naming the folder when it holds no dbt project."""
    if not (PROJECT_DIR / "dbt_project.yml").is_file():
        raise IdcQcError(
            f"no dbt project at {PROJECT_DIR} (dbt_project.yml missing): "
            f"set {PROJECT_DIR_ENV} to the folder that holds it, or reinstall idc-qc"
        )
    return PROJECT_DIR
