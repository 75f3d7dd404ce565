"""The built database as readers see it: is it a DuckDB file, which build does it hold, did it finish.

Every reader (export, and later check/report/query) opens the database through
:func:`open_warehouse`, which refuses what is not a DuckDB file and a build that did not
complete, and says so in one line.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .database.record import BUILD_TABLE, BuildRecord, is_duckdb_file, read_build_record
from .errors import IdcQcError, IncompleteBuild, NotADatabase

def check_database_path(db: Path, *, must_exist: bool) -> None:
    """Refuse a ``--db`` that is a folder, or an existing file that is not a DuckDB database."""
    if db.is_dir():
        raise NotADatabase(f"--db {db} is a folder; give a database file, e.g. {db / 'idc_qc.duckdb'}")
    if db.exists():
        if not is_duckdb_file(db):
            kind = {".csv": "a CSV file", ".parquet": "a parquet file"}.get(db.suffix.lower(), "a file")
            raise NotADatabase(f"--db {db} is {kind}, not a DuckDB database; nothing was changed")
    elif must_exist:
        raise IdcQcError(f"no database at {db}: run `idc-qc build` first (or pass --db)")
    for parent in db.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADatabase(f"--db {db}: {parent} is a file, not a folder")
            break


@dataclass
class Warehouse:
    """An open, read-only view of a built database."""

    path: Path
    con: object
    record: BuildRecord | None
    warnings: list[str]

    def tables(self) -> list[str]:
        rows = self.con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' and table_name <> ? order by 1",
            [BUILD_TABLE],
        ).fetchall()
        return [r[0] for r in rows]


def _duckdb_error(db: Path, exc: Exception) -> IdcQcError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "lock" in text.lower():
        return IdcQcError(f"cannot open {db}: another process has it open for writing ({text})")
    if "not a valid DuckDB database" in text:
        return NotADatabase(f"{db} is not a DuckDB database")
    return IdcQcError(f"cannot open {db}: {text}")


@contextmanager
def open_warehouse(db: Path, *, read_only: bool = True, allow_incomplete: bool = False) -> Iterator[Warehouse]:
    """Open ``db`` and check which build it holds.

    Raises IncompleteBuild when the recorded build did not finish; warns (``warnings``)
    when its data tests failed, when it has no build record (built by an older idc-qc),
    and when a build into it is running now (the previous, complete file is read).
    """
    import duckdb

    from .database.lock import build_in_progress

    db = Path(db)
    check_database_path(db, must_exist=True)
    warnings: list[str] = []
    running = build_in_progress(db)
    if running is not None:
        warnings.append(f"a build into {db} is running ({running.describe()}); reading the previous complete build")
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.Error as exc:
        raise _duckdb_error(db, exc) from None
    try:
        record = read_build_record(con)
        from .database.state import failed_attempt

        failed = failed_attempt(db, record.build_id if record is not None else None)
        if failed:
            warnings.append(failed)
        if record is None:
            warnings.append(f"{db} has no build record (built by an older idc-qc); rebuild to be sure it is complete")
        elif record.status == "checks_failed":
            warnings.append(f"{db} was built with {len(record.failed_tests)} failing data test(s): "
                            + ", ".join(record.failed_tests[:3]))
        elif record.status != "complete" and not allow_incomplete:
            raise IncompleteBuild(f"{db} holds a build that did not finish (build {record.build_id}, started "
                                  f"{record.started_at}, status {record.status}); run `idc-qc build` again")
        yield Warehouse(path=db, con=con, record=record, warnings=warnings)
    finally:
        con.close()


@dataclass
class BuildSummary:
    """What a curator wants to know after a build, read back from the database."""

    tables: list[str]
    series_read: int | None = None
    #: geometry_category = 'regular_volume' (idc-qc's verdict, which a malformed value never passes)
    regular_volumes: int | None = None
    #: IDC's regularly_spaced_3d_volume TRUE, and of those the ones on malformed values
    idc_regular_volumes: int | None = None
    idc_regular_on_malformed_values: int | None = None
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    unusable_instances: int | None = None
    #: rpt_build_context.input_kind (idc_qc/provenance.py): synthetic | dicom | index_only | unknown
    input_kind: str = "unknown"
    #: The line a synthetic build's summary must show; None for other builds.
    notice: str | None = None
    #: series_geometry_vs_idc.comparison -> series (empty when the build read no published index)
    idc_published_comparison: dict[str, int] = field(default_factory=dict)

    @property
    def regular_share(self) -> float | None:
        if not self.series_read or self.regular_volumes is None:
            return None
        return self.regular_volumes / self.series_read


def idc_published_comparison(con) -> dict[str, int]:
    """series_geometry_vs_idc's series per comparison word, most first; empty when the build read
    no published index (every row then says 'no published index read')."""
    return dict(con.execute(
        "select comparison, count(*) from series_geometry_vs_idc "
        "where comparison != 'no published index read' group by comparison order by count(*) desc, comparison").fetchall())


def summarize(db: Path, *, top: int = 3) -> BuildSummary:
    """Series read, regular volumes, the commonest failure reasons, unusable instances."""
    with open_warehouse(db) as wh:
        tables = wh.tables()
        summary = BuildSummary(tables=tables)
        con = wh.con
        from .provenance import read_build_context

        context = read_build_context(con)
        summary.input_kind, summary.notice = context.input_kind, context.notice
        if "series_geometry" in tables:
            columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_name = 'series_geometry'").fetchall()}
            on_malformed = ("count(*) filter (where idc_regular_on_malformed_values)"
                            if "idc_regular_on_malformed_values" in columns else "null")
            (summary.series_read, summary.regular_volumes, summary.idc_regular_volumes,
             summary.idc_regular_on_malformed_values) = con.execute(
                "select count(*), count(*) filter (where geometry_category = 'regular_volume'), "
                f"count(*) filter (where regularly_spaced_3d_volume), {on_malformed} from series_geometry"
            ).fetchone()
            summary.top_reasons = [tuple(r) for r in con.execute(
                "select reason, count(*) as n from series_geometry, unnest(failure_reasons) as r(reason) "
                "group by reason order by n desc, reason limit ?", [top]
            ).fetchall()]
        if "series_geometry_vs_idc" in tables:
            summary.idc_published_comparison = idc_published_comparison(con)
        if "unusable_instances" in tables:
            summary.unusable_instances = con.execute("select count(*) from unusable_instances").fetchone()[0]
    return summary
