"""What changed between two IDC releases: collections, series, per-collection figures, QC failures.

Every figure is computed by DuckDB SQL over the releases' own parquet files (idc_index and
prior_versions_index, from the cache of idc_qc.releases.cache) and, when both releases were
built and checked, over ``<db stem>.qc_failures.parquet`` beside each release's database
(written by ``idc-qc check``). Python only carries the results.

Definitions (docs/releases.md):

- a series is *added* / *removed* when its SeriesInstanceUID is only in the newer / older index;
  *kept* when in both;
- a kept series is *revised* when the newer release's prior_versions_index holds a version of it
  that was last published in a release from the older one up to the one before the newer
  (``older <= max_idc_version < newer``): the version the older release carried was replaced.
  Before v20 there is no prior_versions_index; then a changed crdc_series_uuid (IDC's id of a
  series version) marks a revision, and when neither release has that, revisions are not known;
- per collection: series, patients (distinct PatientID), instances (sum of instanceCount) and
  size (sum of series_size_MB) in each release, and the change;
- QC failures, keyed by (collection_id, SeriesInstanceUID, suite, check_name): *new* (only in
  the newer build's failures), *fixed* (only in the older's; a removed series' failures count
  here too, and are also counted in ``fixed_series_removed``), *unchanged* (in both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..database.atomic import atomic_path
from ..database.files import failures_path, release_db
from ..errors import IdcQcError

QC_KEY = ("collection_id", "SeriesInstanceUID", "suite", "check_name")


@dataclass(frozen=True)
class ReleaseSide:
    release: int
    version: str
    index: Path
    collections: int
    series: int
    patients: int
    instances: int
    size_mb: float
    qc_failures: Path | None = None  # the <db stem>.qc_failures.parquet read, if any


@dataclass(frozen=True)
class CollectionChange:
    collection_id: str
    status: str  # added | removed | kept
    series_a: int
    series_b: int
    patients_a: int
    patients_b: int
    instances_a: int
    instances_b: int
    size_mb_a: float
    size_mb_b: float
    series_added: int
    series_removed: int
    series_revised: int

    @property
    def series_change(self) -> int:
        return self.series_b - self.series_a


@dataclass(frozen=True)
class QcChange:
    collection_id: str
    suite: str
    check_name: str
    new: int
    fixed: int
    unchanged: int
    fixed_series_removed: int


@dataclass
class ReleaseDiff:
    """The comparison of release ``a`` (older) with ``b`` (newer); what `idc-qc diff` shows."""

    a: ReleaseSide
    b: ReleaseSide
    collections_added: list[str]
    collections_removed: list[str]
    series_added: int
    series_removed: int
    series_kept: int
    series_revised: int | None  # None: neither release says (before v20, no crdc_series_uuid)
    revised_method: str
    collections: list[CollectionChange]
    qc: list[QcChange] | None = None  # None when a side has no QC results
    qc_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def changed_collections(self) -> list[CollectionChange]:
        return [c for c in self.collections
                if c.status != "kept" or c.series_added or c.series_removed or c.series_revised
                or c.instances_a != c.instances_b or c.patients_a != c.patients_b]

    def qc_totals(self) -> dict[str, int] | None:
        if self.qc is None:
            return None
        return {k: sum(getattr(q, k) for q in self.qc) for k in ("new", "fixed", "unchanged")}

    def summary_rows(self) -> list[tuple[str, Any, Any, Any]]:
        """(measure, release a, release b, change) — the first table of the diff."""
        a, b = self.a, self.b
        rows: list[tuple[str, Any, Any, Any]] = [
            ("idc-index-data version", a.version, b.version, ""),
            ("collections", a.collections, b.collections,
             f"+{len(self.collections_added)} / -{len(self.collections_removed)}"),
            ("series", a.series, b.series, f"+{self.series_added:,} / -{self.series_removed:,}"),
            ("series kept", "", self.series_kept, ""),
            ("series revised", "", "unknown" if self.series_revised is None else self.series_revised, ""),
            ("patients", a.patients, b.patients, b.patients - a.patients),
            ("instances", a.instances, b.instances, b.instances - a.instances),
            ("size (GB)", round(a.size_mb / 1024, 1), round(b.size_mb / 1024, 1),
             round((b.size_mb - a.size_mb) / 1024, 1)),
        ]
        return rows


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _columns(con, path: Path) -> set[str]:
    return {row[0] for row in con.execute(f"describe select * from read_parquet({_lit(path)})").fetchall()}


def diff_releases(release_a: int | str, release_b: int | str, *, db_a: Path | None = None, db_b: Path | None = None,
                  index_a: Path | None = None, index_b: Path | None = None) -> ReleaseDiff:
    """Compare two IDC releases (their indices, fetched into the cache when needed).

    ``db_a``/``db_b``: the releases' built databases; their ``<stem>.qc_failures.parquet`` give the
    QC section (absent: the diff says so). ``index_a``/``index_b``: an idc_index.parquet to use
    instead of the cache (its folder's prior_versions_index.parquet is read too).
    """
    import duckdb

    from .cache import fetch_release, parse_release

    ra, rb = parse_release(release_a), parse_release(release_b)
    if ra == rb:
        raise IdcQcError(f"diff needs two different releases (got v{ra} twice)")
    if ra > rb:
        raise IdcQcError(f"diff compares an older release with a newer one: `idc-qc diff v{rb} v{ra}`")
    sides = []
    for number, given in ((ra, index_a), (rb, index_b)):
        if given is not None:
            sides.append((Path(given), f"{number} ({given})"))
        else:
            cached = fetch_release(number)
            sides.append((cached.index, cached.version))
    (path_a, version_a), (path_b, version_b) = sides

    con = duckdb.connect()
    try:
        con.execute(f"create view idx_a as select * from read_parquet({_lit(path_a)})")
        con.execute(f"create view idx_b as select * from read_parquet({_lit(path_b)})")
        prior_b = path_b.parent / "prior_versions_index.parquet"
        cols_a, cols_b = _columns(con, path_a), _columns(con, path_b)
        if prior_b.is_file():
            con.execute(f"create view prior_b as select * from read_parquet({_lit(prior_b)})")
            con.execute(f"""create table replaced as select distinct SeriesInstanceUID from prior_b
                            where max_idc_version >= {ra} and max_idc_version < {rb}""")
            revised_sql = "r.SeriesInstanceUID is not null"
            method = f"v{rb} prior_versions_index: a version last published in v{ra}..v{rb - 1}"
        elif "crdc_series_uuid" in cols_a and "crdc_series_uuid" in cols_b:
            revised_sql = "a.crdc_series_uuid is distinct from b.crdc_series_uuid"
            method = "crdc_series_uuid changed (no prior_versions_index)"
        else:
            revised_sql = "null"
            method = f"unknown: v{rb} has no prior_versions_index and the indices no crdc_series_uuid"

        revised_join = ("left join replaced as r on r.SeriesInstanceUID = a.SeriesInstanceUID"
                        if revised_sql.startswith("r.") else "")
        # One pass over each file: every later figure is read from this table.
        con.execute(f"""
            create table series_cmp as
            select
                coalesce(b.collection_id, a.collection_id) as collection_id,
                coalesce(b.SeriesInstanceUID, a.SeriesInstanceUID) as SeriesInstanceUID,
                case when a.SeriesInstanceUID is null then 'added'
                     when b.SeriesInstanceUID is null then 'removed'
                     else 'kept' end as status,
                case when a.SeriesInstanceUID is not null and b.SeriesInstanceUID is not null
                     then {revised_sql} end as revised,
                a.SeriesInstanceUID is not null as in_a, b.SeriesInstanceUID is not null as in_b,
                a.collection_id as collection_a, b.collection_id as collection_b,
                a.PatientID as patient_a, b.PatientID as patient_b,
                a.instanceCount as instances_a, b.instanceCount as instances_b,
                a.series_size_MB as size_a, b.series_size_MB as size_b
            from idx_a as a
            full outer join idx_b as b on a.SeriesInstanceUID = b.SeriesInstanceUID
            {revised_join}
        """)
        totals = con.execute("""
            select count(*) filter (where status = 'added'), count(*) filter (where status = 'removed'),
                   count(*) filter (where status = 'kept'), count(*) filter (where revised)
            from series_cmp
        """).fetchone()
        added, removed, kept, revised = (int(x or 0) for x in totals)

        def side(s: str, number: int, version: str, index: Path, qc: Path | None) -> ReleaseSide:
            row = con.execute(f"""
                select count(distinct collection_{s}), count(*), count(distinct patient_{s}),
                       coalesce(sum(instances_{s}), 0), coalesce(sum(size_{s}), 0)
                from series_cmp where in_{s}
            """).fetchone()
            return ReleaseSide(number, version, index, int(row[0]), int(row[1]), int(row[2]), int(row[3]),
                               float(row[4]), qc)

        qc_a = failures_path(db_a) if db_a is not None else None
        qc_b = failures_path(db_b) if db_b is not None else None
        a = side("a", ra, version_a, path_a, qc_a if qc_a and qc_a.is_file() else None)
        b = side("b", rb, version_b, path_b, qc_b if qc_b and qc_b.is_file() else None)

        con.execute("""
            create table collection_cmp as
            with per_a as (
                select collection_a as collection_id, count(*) as series, count(distinct patient_a) as patients,
                       coalesce(sum(instances_a), 0) as instances, coalesce(sum(size_a), 0) as size_mb
                from series_cmp where in_a group by collection_a
            ),
            per_b as (
                select collection_b as collection_id, count(*) as series, count(distinct patient_b) as patients,
                       coalesce(sum(instances_b), 0) as instances, coalesce(sum(size_b), 0) as size_mb
                from series_cmp where in_b group by collection_b
            ),
            moves as (
                select collection_id,
                       count(*) filter (where status = 'added') as series_added,
                       count(*) filter (where status = 'removed') as series_removed,
                       count(*) filter (where revised) as series_revised
                from series_cmp group by collection_id
            )
            select
                coalesce(b.collection_id, a.collection_id) as collection_id,
                case when a.collection_id is null then 'added' when b.collection_id is null then 'removed'
                     else 'kept' end as status,
                coalesce(a.series, 0) as series_a, coalesce(b.series, 0) as series_b,
                coalesce(a.patients, 0) as patients_a, coalesce(b.patients, 0) as patients_b,
                coalesce(a.instances, 0) as instances_a, coalesce(b.instances, 0) as instances_b,
                coalesce(a.size_mb, 0) as size_mb_a, coalesce(b.size_mb, 0) as size_mb_b,
                coalesce(m.series_added, 0) as series_added, coalesce(m.series_removed, 0) as series_removed,
                coalesce(m.series_revised, 0) as series_revised
            from per_a as a
            full outer join per_b as b on a.collection_id = b.collection_id
            left join moves as m on m.collection_id = coalesce(b.collection_id, a.collection_id)
            order by abs(coalesce(b.series, 0) - coalesce(a.series, 0)) desc, collection_id
        """)
        collections = [CollectionChange(str(r[0]), r[1], *(int(x) for x in r[2:8]), float(r[8]), float(r[9]),
                                        int(r[10]), int(r[11]), int(r[12]))
                       for r in con.execute("select * from collection_cmp").fetchall()]
        coll_added = sorted(c.collection_id for c in collections if c.status == "added")
        coll_removed = sorted(c.collection_id for c in collections if c.status == "removed")

        qc, qc_note = _qc_diff(con, ra, rb, db_a, db_b, a.qc_failures, b.qc_failures)
    finally:
        con.close()
    return ReleaseDiff(a=a, b=b, collections_added=coll_added, collections_removed=coll_removed,
                       series_added=added, series_removed=removed, series_kept=kept,
                       series_revised=None if revised_sql == "null" else revised, revised_method=method,
                       collections=collections, qc=qc, qc_note=qc_note)


def _qc_diff(con, ra: int, rb: int, db_a: Path | None, db_b: Path | None, qc_a: Path | None,
             qc_b: Path | None) -> tuple[list[QcChange] | None, str]:
    missing = []
    for number, db, qc in ((ra, db_a, qc_a), (rb, db_b, qc_b)):
        if qc is None:
            where = failures_path(db) if db is not None else failures_path(release_db(number))
            missing.append(f"v{number} ({where} not found: run `idc-qc check` on that release's build)")
    if missing:
        return None, "QC failures not compared: no QC results for " + "; ".join(missing)
    for path in (qc_a, qc_b):
        lacking = [c for c in QC_KEY if c not in _columns(con, path)]
        if lacking:
            raise IdcQcError(f"{path}: column(s) {', '.join(lacking)} missing (expected {', '.join(QC_KEY)}, "
                             "VARCHAR, as `idc-qc check` writes them)")
    key = ", ".join(QC_KEY)
    rows = con.execute(f"""
        with fa as (select distinct {key} from read_parquet({_lit(qc_a)})),
             fb as (select distinct {key} from read_parquet({_lit(qc_b)})),
             joined as (
                 select coalesce(fb.collection_id, fa.collection_id) as collection_id,
                        coalesce(fb.suite, fa.suite) as suite,
                        coalesce(fb.check_name, fa.check_name) as check_name,
                        coalesce(fb.SeriesInstanceUID, fa.SeriesInstanceUID) as SeriesInstanceUID,
                        case when fa.SeriesInstanceUID is null then 'new'
                             when fb.SeriesInstanceUID is null then 'fixed' else 'unchanged' end as change
                 from fa full outer join fb using ({key})
             )
        select j.collection_id, j.suite, j.check_name,
               count(*) filter (where change = 'new'),
               count(*) filter (where change = 'fixed'),
               count(*) filter (where change = 'unchanged'),
               count(*) filter (where change = 'fixed' and s.status = 'removed')
        from joined as j
        left join series_cmp as s on s.SeriesInstanceUID = j.SeriesInstanceUID
        group by all
        order by 4 desc, 5 desc, 1, 2, 3
    """).fetchall()
    changes = [QcChange(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows]
    return changes, f"QC failures of v{ra} ({qc_a}) and v{rb} ({qc_b})"


def write_csv(diff: ReleaseDiff, folder: Path) -> list[Path]:
    """diff_summary.csv, diff_collections.csv and (with QC results) diff_qc.csv in ``folder``."""
    import csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"diff_v{diff.a.release}_v{diff.b.release}"
    written = []
    path = folder / f"{stem}_summary.csv"
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["measure", f"v{diff.a.release}", f"v{diff.b.release}", "change"])
        writer.writerows(diff.summary_rows())
        writer.writerow(["collections added", "", ";".join(diff.collections_added), len(diff.collections_added)])
        writer.writerow(["collections removed", ";".join(diff.collections_removed), "", len(diff.collections_removed)])
    written.append(path)
    path = folder / f"{stem}_collections.csv"
    fields = list(CollectionChange.__dataclass_fields__)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*fields, "series_change"])
        for c in diff.collections:
            writer.writerow([*(getattr(c, f) for f in fields), c.series_change])
    written.append(path)
    if diff.qc is not None:
        path = folder / f"{stem}_qc.csv"
        fields = list(QcChange.__dataclass_fields__)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            for q in diff.qc:
                writer.writerow([getattr(q, f) for f in fields])
        written.append(path)
    return written
