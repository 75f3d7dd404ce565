"""Cohorts anyone can rebuild and download: a manifest of series, and its check against another release.

A cohort is the set of series a query returns (its ``SeriesInstanceUID`` column), or the
series of IDC's index that match filters (collection, modality, body part, an SQL condition;
the filters are written as that query). The manifest (JSON) holds:

- every series with the identifiers IDC publishes for it in the index: ``crdc_series_uuid``,
  the s5cmd-style bucket URL (``series_aws_url``, e.g. ``s3://idc-open-data/<uuid>/*``), collection,
  patient, study, modality, size, licence, source DOI;
- the IDC release of the index it was resolved against, the query (text, dialect, sha256),
  the tables it read, the toolkit version, the database;
- citations: each collection's DOI(s) and licence(s), from the index;
- beside it, ``<name>.s5cmd``: one ``cp`` line per series, the file
  ``s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com run <name>.s5cmd`` downloads.

``check`` reruns the same query with ``idc_index`` read from another release's index
(``idc_qc.releases.cache.release_index(release)``, or a parquet file given) and lists the
series gained, lost and revised (same SeriesInstanceUID, another ``crdc_series_uuid``: IDC
gives a series a new UUID whenever its content changes). Tables other than ``idc_index``
that the query reads come from the local warehouse, as when the manifest was written.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import IdcQcError
from .run import QueryResult, run_query
from .selection import Selection

MANIFEST_FORMAT = "idc-qc cohort manifest 1"
#: What the manifest keeps of each series (from idc_index).
SERIES_COLUMNS = ["SeriesInstanceUID", "collection_id", "PatientID", "StudyInstanceUID", "Modality",
                  "crdc_series_uuid", "series_aws_url", "instanceCount", "series_size_MB", "source_DOI",
                  "license_short_name"]
S5CMD_COMMAND = "s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com run {file}"


class CohortError(IdcQcError):
    """A cohort that cannot be built or checked."""


#: The columns of IDC's idc_index the selection filters on (collection, modality, body part, manufacturer).
INDEX_FILTER_COLUMNS = ["collection_id", "Modality", "BodyPartExamined", "Manufacturer"]


def filters_sql(selection: Selection) -> str:
    """The DuckDB query over idc_index that the selection stands for (stored in the manifest as is).

    The values are quoted literals (the manifest stores a query anyone can rerun), compared
    without regard to case as everywhere (:mod:`.selection`); ``--where`` is checked and applied
    outside the other filters.
    """
    return selection.literal_query("idc_index", INDEX_FILTER_COLUMNS, "SeriesInstanceUID", "SeriesInstanceUID")


def query_sha256(sql: str, dialect: str) -> str:
    return hashlib.sha256(f"{dialect}\n{sql}".encode()).hexdigest()


@dataclass
class Cohort:
    manifest: dict
    path: Path
    s5cmd_path: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def series_count(self) -> int:
        return len(self.manifest["series"])


def _series_uids(result: QueryResult) -> list[str]:
    names = {n.lower(): n for n in result.table.column_names}
    if "seriesinstanceuid" not in names:
        raise CohortError("a cohort query must return a SeriesInstanceUID column; it returned: "
                          + ", ".join(result.table.column_names))
    uids = result.table.column(names["seriesinstanceuid"]).to_pylist()
    seen, ordered = set(), []
    for uid in uids:
        if uid is not None and uid not in seen:
            seen.add(uid)
            ordered.append(uid)
    return ordered


def _index_rows(db: Path, uids: list[str], index: Path | None) -> tuple[dict[str, dict], list[dict], int | None]:
    """idc_index rows of ``uids``, the citations of their collections, and the index's release."""
    from .run import contained, interruptible

    with contained(db, index=index) as (con, catalog, _warnings):
        if "idc_index" not in catalog.relations:
            raise CohortError(f"{db} has no IDC index to resolve series against (build it with idc-index-data installed)")
        import pyarrow as pa

        # one Arrow column, not a statement per series (and an empty cohort is an empty table)
        con.register("cohort_uids_arrow", pa.table({"SeriesInstanceUID": pa.array(uids, pa.string())}))
        con.execute("create temp table cohort_uids as select SeriesInstanceUID from cohort_uids_arrow")
        con.unregister("cohort_uids_arrow")
        available = {c.lower() for c in catalog.relations["idc_index"].columns}
        columns = ", ".join(f"i.{c}" if c.lower() in available else f"null as {c}" for c in SERIES_COLUMNS[1:])
        cursor = interruptible(con, lambda: con.execute(
            f"select u.SeriesInstanceUID, {columns} from cohort_uids u "
            "left join idc_index i using (SeriesInstanceUID) order by u.SeriesInstanceUID"))
        names = [d[0] for d in cursor.description]
        rows = {r[0]: dict(zip(names, r)) for r in cursor.fetchall()}
        citations = [dict(zip(["collection_id", "source_DOI", "license_short_name", "series"], r)) for r in con.execute(
            "select i.collection_id, i.source_DOI, i.license_short_name, count(*) from cohort_uids u "
            "join idc_index i using (SeriesInstanceUID) group by all order by 1, 2, 3").fetchall()]
        version_columns = [c for c in ("series_init_idc_version", "series_revised_idc_version") if c.lower() in available]
        newest = con.execute(f"select max(greatest({', '.join(f'coalesce({c}, 0)' for c in version_columns)})) "
                             "from idc_index").fetchone()[0] if version_columns else None
    release = _recorded_release(index) if index is not None else catalog.index_release
    if release is None:
        release = newest  # the newest release any series of this index was published or revised in
    if "crdc_series_uuid" not in available:
        for row in rows.values():
            row["crdc_series_uuid"] = _NO_UUID
    return rows, citations, release


#: Stands for a crdc_series_uuid the index does not publish (IDC's index before v18 or so).
_NO_UUID = "<not in this release's index>"


def _recorded_release(index: Path) -> int | None:
    """The release idc_qc.releases.cache recorded beside a cached index (release.json), if any."""
    record = Path(index).parent / "release.json"
    try:
        return int(json.loads(record.read_text())["release"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _collection_names(db: Path) -> dict[str, str]:
    from .run import contained

    with contained(db) as (con, catalog, _w):
        if "collections_index" not in catalog.relations:
            return {}
        return dict(con.execute("select collection_id, collection_name from collections_index").fetchall())


def create_cohort(db: Path, out: Path, *, sql: str | None = None, dialect: str = "duckdb",
                  filters: Selection | None = None, name: str | None = None, release: str | None = None,
                  index: Path | None = None) -> Cohort:
    """Run the cohort query (or the filters' query) and write the manifest and its s5cmd file.

    ``release`` / ``index``: resolve against another release's idc_index instead of the warehouse's.
    """
    from .. import __version__
    from ..paths import idc_index_version

    if (sql is None) == (filters is None or filters.empty()):
        raise CohortError("give either a query (SQL, -f FILE) or filters (--collection, --modality, --body-part, "
                          "--where), not both and not neither")
    if sql is None:
        filters.check(columns_of="idc_index", example="\"BodyPartExamined = 'CHEST'\"")
        sql, dialect = filters_sql(filters), "duckdb"
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise CohortError(f"the manifest is JSON: name it *.json (got {out.name})")
    if release is not None and index is None:
        index, release = resolve_release_index(release)
    result = run_query(db, sql, dialect=dialect, index=index)
    uids = _series_uids(result)
    rows, citations, found_release = _index_rows(db, uids, index)
    release = int(release.lstrip("vV")) if release else found_release
    names = _collection_names(db)
    for citation in citations:
        citation["collection_name"] = names.get(citation["collection_id"])
    series = [rows[u] for u in sorted(uids)]
    missing = [s["SeriesInstanceUID"] for s in series if s["crdc_series_uuid"] is None]
    warnings = list(result.warnings)
    if missing:
        warnings.append(f"{len(missing)} of {len(series)} series are not in IDC's index v{release}: "
                        "listed without a download URL")
    tables_read = sorted(set(result.transpiled.tables.values()) | _tables_read(result.transpiled.sql))
    built_from = _built_from(db, index_only=bool(tables_read) and all(t.endswith("_index") for t in tables_read))
    if built_from["notice"]:
        warnings.append(f"{built_from['notice']}: the manifest says so (input.notice)")
    manifest = {
        "format": MANIFEST_FORMAT,
        "name": name or out.stem,
        # what the selection stands on: a cohort chosen on synthetic geometry says so in the file
        "input": built_from,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "toolkit_version": __version__,
        "idc_release": f"v{release}" if release is not None else None,
        "idc_index_data_version": idc_index_version() if index is None else None,
        "database": str(Path(db).resolve()),
        "idc_index_file": str(Path(index).resolve()) if index is not None else None,
        "query": {"sql": sql, "dialect": dialect, "sha256": query_sha256(sql, dialect),
                  "filters": filters.as_dict() if filters is not None and not filters.empty() else None,
                  "tables_read": tables_read},
        "counts": {"series": len(series), "series_with_download_url": len(series) - len(missing),
                   "instances": sum(s["instanceCount"] or 0 for s in series),
                   "size_MB": round(sum(s["series_size_MB"] or 0 for s in series), 3)},
        "download": {"s5cmd_file": out.with_suffix(".s5cmd").name,
                     "command": S5CMD_COMMAND.format(file=out.with_suffix(".s5cmd").name),
                     "note": "s5cmd (https://github.com/peak/s5cmd) copies each series folder into the current "
                             "folder; IDC's buckets need no credentials"},
        "citations": citations,
        "series": series,
    }
    s5cmd = out.with_suffix(".s5cmd")
    _write_all({s5cmd: "".join(f"cp {s['series_aws_url']} .\n" for s in series if s["series_aws_url"]),
                out: json.dumps(manifest, indent=2, default=str) + "\n"})
    return Cohort(manifest=manifest, path=out, s5cmd_path=s5cmd, warnings=warnings)


def _write_all(texts: dict[Path, str]) -> None:
    """Write every file under a temporary name, then rename them all (``database.atomic``):
    Ctrl-C or a full disk leaves the previous files (or none), never a half-written manifest."""
    from contextlib import ExitStack

    from ..database.atomic import atomic_path

    with ExitStack() as stack:
        for path, text in texts.items():
            stack.enter_context(atomic_path(path)).write_text(text)


def _built_from(db: Path, *, index_only: bool) -> dict:
    """The build's input (rpt_build_context): kind, detail and, for synthetic input the query
    read, the notice. A query of IDC's index tables alone does not stand on the input."""
    from ..provenance import read_build_context
    from ..warehouse import open_warehouse

    with open_warehouse(Path(db)) as wh:
        context = read_build_context(wh.con)
    return {"kind": context.input_kind, "detail": context.input_detail or None,
            "notice": None if index_only else context.notice,
            "selection_reads": "IDC's index only (not the instance input)" if index_only
            else "tables built from the instance input"}


def _tables_read(sql: str) -> set[str]:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except Exception:  # noqa: BLE001 - sqlglot raises several kinds; SQL it cannot parse names no table
        return set()
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name.lower() not in ctes}


def read_manifest(path: Path) -> dict:
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
    except OSError as exc:
        raise CohortError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CohortError(f"{path} is not a cohort manifest (not JSON: {exc.msg} at line {exc.lineno})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise CohortError(f"{path} is not a cohort manifest (format {manifest.get('format') if isinstance(manifest, dict) else None!r}, "
                          f"expected {MANIFEST_FORMAT!r})")
    query = manifest.get("query")
    if not isinstance(query, dict) or not isinstance(query.get("sql"), str) \
            or query.get("dialect") not in ("duckdb", "bigquery"):
        raise CohortError(f"{path}: the manifest's \"query\" must hold sql (text) and dialect (duckdb or bigquery); "
                          "write a new one with `idc-qc cohort create`")
    if query_sha256(query["sql"], query["dialect"]) != query.get("sha256"):
        raise CohortError(f"{path}: the query's sha256 does not match its text: the manifest was edited")
    series = manifest.get("series")
    bad = None if isinstance(series, list) else "is not a list"
    for number, entry in enumerate(series if isinstance(series, list) else [], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("SeriesInstanceUID"), str) \
                or "crdc_series_uuid" not in entry:
            bad = f"entry {number} lacks SeriesInstanceUID or crdc_series_uuid"
            break
    if bad:
        raise CohortError(f"{path}: the manifest's \"series\" {bad}; write a new one with `idc-qc cohort create`")
    if not isinstance(query.get("tables_read", []), list):
        raise CohortError(f"{path}: the manifest's query.tables_read is not a list; write a new one with "
                          "`idc-qc cohort create`")
    return manifest


@dataclass
class CohortCheck:
    manifest_release: str | None
    release: str
    index: Path
    gained: list[dict]
    lost: list[dict]
    revised: list[dict]
    unchanged: int
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.gained or self.lost or self.revised)

    def as_dict(self) -> dict:
        return {"manifest_release": self.manifest_release, "release": self.release, "index": str(self.index),
                "gained": self.gained, "lost": self.lost, "revised": self.revised, "unchanged": self.unchanged}


def resolve_release_index(release: str) -> tuple[Path, str]:
    """The idc_index.parquet of ``release`` (v21, 21) through idc_qc.releases.cache, fetched lazily."""
    match = re.fullmatch(r"v?(\d+)", release.strip(), re.IGNORECASE)
    if not match:
        raise CohortError(f"--release {release!r}: give an IDC release number, e.g. v21")
    try:
        from ..releases.cache import release_index
    except ImportError:
        raise CohortError("this idc-qc cannot fetch other releases (idc_qc.releases.cache is missing); "
                          "pass the release's idc_index.parquet with --index FILE") from None
    return Path(release_index(int(match.group(1)))), f"v{match.group(1)}"


def check_cohort(manifest_path: Path, db: Path, *, release: str | None = None, index: Path | None = None) -> CohortCheck:
    """Rerun the manifest's query against another release's index; gained, lost and revised series."""
    manifest = read_manifest(manifest_path)
    if release is None and index is None:
        raise CohortError("give --release vNN (fetched and cached) or --index FILE.parquet (another release's index)")
    if index is None:
        index, label = resolve_release_index(release)
    else:
        index = Path(index)
        label = release
    query = manifest["query"]
    result = run_query(db, query["sql"], dialect=query["dialect"], index=index)
    uids = _series_uids(result)
    rows, _citations, index_release = _index_rows(db, uids, index)
    label = label or (f"v{index_release}" if index_release is not None else index.name)
    before = {s["SeriesInstanceUID"]: s for s in manifest["series"]}
    after = rows
    gained = [after[u] for u in sorted(set(after) - set(before))]
    lost = [before[u] for u in sorted(set(before) - set(after))]
    revised = [{"SeriesInstanceUID": u, "collection_id": after[u]["collection_id"],
                "crdc_series_uuid_before": before[u]["crdc_series_uuid"],
                "crdc_series_uuid_after": after[u]["crdc_series_uuid"],
                "series_aws_url_after": after[u]["series_aws_url"]}
               for u in sorted(set(before) & set(after))
               if _NO_UUID not in (before[u]["crdc_series_uuid"], after[u]["crdc_series_uuid"])
               and before[u]["crdc_series_uuid"] != after[u]["crdc_series_uuid"]]
    unchanged = len(set(before) & set(after)) - len(revised)
    warnings = list(result.warnings)
    if any(row["crdc_series_uuid"] == _NO_UUID for row in after.values()):
        warnings.append(f"release {label}'s index has no crdc_series_uuid: revisions cannot be told apart there "
                        "(series present in both count as unchanged)")
    other_tables = [t for t in query.get("tables_read", []) if t != "idc_index"]
    if other_tables:
        warnings.append(f"the query also reads {', '.join(other_tables)}: read from the local warehouse {db}, "
                        f"not from release {label}")
    return CohortCheck(manifest_release=manifest.get("idc_release"), release=label, index=index, gained=gained,
                       lost=lost, revised=revised, unchanged=unchanged, warnings=warnings)
