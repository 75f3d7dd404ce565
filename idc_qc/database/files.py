"""The name of every file beside a built database: one function each.

``db`` is the database file, e.g. ``build/idc_qc.duckdb`` (stem ``idc_qc``). Nothing else in
idc_qc spells these names; readers and writers call these functions.
"""

from __future__ import annotations

from pathlib import Path

MANIFEST_SUFFIX = ".manifest.json"
ATTEMPT_SUFFIX = ".attempt.json"
VALIDATION_SUFFIX = ".validation.json"
FAILURES_SUFFIX = ".qc_failures.parquet"
REPORT_SUFFIX = ".qc_report.html"
#: The build lock and the staging folder keep the whole file name (``idc_qc.duckdb.lock``).
LOCK_SUFFIX = ".lock"
BUILDING_SUFFIX = ".building"
#: Where `idc-qc build --release N` (without --db) and `idc-qc release run` put release N.
RELEASES_DIR = Path("build") / "releases"
DB_NAME = "idc_qc.duckdb"
#: A database's own clinical store is named after it (build/idc_qc.duckdb -> build/idc_qc.clinical/),
#: so an unrelated database in the same folder never reads it; this environment variable names
#: another store for every build (idc_qc/clinical/store.py chooses).
CLINICAL_STORE_SUFFIX = ".clinical"
CLINICAL_STORE_ENV = "IDC_QC_CLINICAL_DIR"


def _beside(db: Path, suffix: str) -> Path:
    db = Path(db)
    return db.with_name(db.stem + suffix)


def manifest_path(db: Path) -> Path:
    """``build/idc_qc.duckdb`` -> ``build/idc_qc.manifest.json``: the run manifest."""
    return _beside(db, MANIFEST_SUFFIX)


def attempt_path(db: Path) -> Path:
    """``build/idc_qc.attempt.json``: the latest build attempt (written when it starts and ends)."""
    return _beside(db, ATTEMPT_SUFFIX)


def validation_path(db: Path) -> Path:
    """``build/idc_qc.validation.json``: `idc-qc check`'s results."""
    return _beside(db, VALIDATION_SUFFIX)


def failures_path(db: Path) -> Path:
    """``build/idc_qc.qc_failures.parquet``: one row per failing series and check."""
    return _beside(db, FAILURES_SUFFIX)


def report_path(db: Path) -> Path:
    """``build/idc_qc.qc_report.html``: the default QC report page."""
    return _beside(db, REPORT_SUFFIX)


def report_csv_path(html: Path) -> Path:
    """The report's CSV: the page's name with ``.csv``."""
    return Path(html).with_suffix(".csv")


def lock_path(db: Path) -> Path:
    """``build/idc_qc.duckdb.lock``: the build lock."""
    db = Path(db)
    return db.with_name(db.name + LOCK_SUFFIX)


def wal_path(db: Path) -> Path:
    """DuckDB's write-ahead log of ``db``."""
    db = Path(db)
    return db.with_name(db.name + ".wal")


def staging_dir(db: Path) -> Path:
    """``build/idc_qc.duckdb.building/``: where the new database is built."""
    db = Path(db)
    return db.with_name(db.name + BUILDING_SUFFIX)


def staging_file(db: Path) -> Path:
    """The new database inside the staging folder (same file name: DuckDB's catalog name is the same)."""
    return staging_dir(db) / Path(db).name


def dbt_work_dir(db: Path) -> Path:
    """dbt's target/ and logs/ for builds into ``db``'s folder (they outlive the staging folder)."""
    return Path(db).resolve().parent / "dbt"


def clinical_store(db: Path) -> Path:
    """The database's own clinical store: ``<db folder>/<db stem>.clinical`` (``idc-qc clinical add``
    writes it; a build reads it unless --clinical or $IDC_QC_CLINICAL_DIR names another)."""
    db = Path(db).resolve()
    return db.with_name(db.stem + CLINICAL_STORE_SUFFIX)


def release_db(release: int, root: Path | None = None) -> Path:
    """``build/releases/v<N>/idc_qc.duckdb``: one folder per release, never shared."""
    return Path(root or RELEASES_DIR) / f"v{int(release)}" / DB_NAME


def sidecars(db: Path) -> list[Path]:
    """Every file idc-qc writes beside ``db`` under a name derived from it (not the folders)."""
    db = Path(db)
    return [manifest_path(db), attempt_path(db), validation_path(db), failures_path(db), report_path(db),
            report_csv_path(report_path(db)), lock_path(db), wal_path(db)]
