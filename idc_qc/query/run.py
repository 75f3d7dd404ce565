"""Run one read-only query on the local warehouse, contained.

The order matters:

1. the statement is checked (:mod:`.safety`; for BigQuery SQL, :mod:`.transpile` first): a
   write, ``ATTACH``, ``COPY``, ``INSTALL``/``LOAD``, ``SET`` ... is refused before anything opens;
2. the warehouse is opened read-only (:func:`idc_qc.warehouse.open_warehouse`);
3. IDC's names are created as temporary views (:mod:`.catalog`) while files can still be read;
4. the connection is locked down: ``allowed_paths`` = exactly the parquet files the warehouse's
   views read (the instance input, the index files), then ``enable_external_access = false``,
   then ``lock_configuration = true`` -- no later statement can switch it back;
5. the query runs; its result comes back as Arrow and is written, if asked, by a separate
   in-memory connection (``-o``), never by the query.

Why allowed_paths and not materializing: the instance-level models are views over parquet
(at IDC scale ~49M instances, tens of GB): copying them into a temporary database before every
query would take minutes and the disk space of the input. DuckDB's allow-list keeps the views
working while ``read_csv('/etc/passwd')``, ``COPY ... TO``, ``ATTACH``, ``glob('/*')`` and
http(s) reads fail with a permission error. The files allowed are the warehouse's own inputs,
which the query may read anyway through the views.
"""

from __future__ import annotations

import re
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import IdcQcError
from .catalog import INSTANCE_RELATION, Catalog, adapt_dicom_all, install, read_catalog
from .safety import check_read_only
from .transpile import Transpiled, transpile

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json", ".ndjson": "json"}


class MissingColumn(IdcQcError):
    """The query reads a column the local data does not have."""


@dataclass
class QueryResult:
    transpiled: Transpiled
    table: object            # pyarrow.Table
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return self.transpiled.sql

    @property
    def rows(self) -> int:
        return self.table.num_rows


def _lock_down(con, catalog: Catalog, *, progress: bool = False) -> None:
    # DuckDB's own progress bar (long queries) only where someone watches a terminal
    con.execute(f"set enable_progress_bar = {'true' if progress else 'false'}")
    con.execute("set allowed_paths = ?", [catalog.files])  # exactly the input files, never a folder
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


@contextmanager
def contained(db: Path, *, index: Path | None = None, progress: bool = False,
              describe: bool = False) -> Iterator[tuple[object, Catalog, list[str]]]:
    """A read-only, locked-down connection to ``db`` with IDC's names defined: (con, catalog, warnings).

    ``index``: another release's idc_index.parquet to read as ``idc_index`` (``cohort check``).
    """
    from ..warehouse import open_warehouse

    with open_warehouse(Path(db)) as wh:
        catalog = read_catalog(wh.con, describe=describe)
        if index is not None:
            use_index(catalog, Path(index))
        install(wh.con, catalog)
        _lock_down(wh.con, catalog, progress=progress)
        yield wh.con, catalog, list(wh.warnings)


def interruptible(con, work):
    """``work()`` (DuckDB calls on ``con``), stopped by Ctrl-C within a fraction of a second.

    DuckDB runs a query without returning to Python, so Python's SIGINT handler would only
    run when the query ends. The work runs in a worker thread instead; the main thread waits
    in short waits, which a KeyboardInterrupt does break: it calls ``con.interrupt()`` (the
    query stops with DuckDB's InterruptException in the worker), waits for the worker, and
    raises KeyboardInterrupt itself (the CLI exits 130). Off the main thread, ``work()`` runs as is.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return work()
    outcome: dict = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread as is
            outcome["error"] = exc
        finally:
            done.set()

    # SIGINT raises KeyboardInterrupt here even when the process inherited it ignored (a
    # background job of a script), as during a build (workspace.sigint_releases_pauses)
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    worker = threading.Thread(target=target, name="idc-qc-query", daemon=True)
    worker.start()
    # an Event, not Thread.join: a join that KeyboardInterrupt breaks can mark the thread
    # stopped while it still runs (Python < 3.13), and the connection would be closed under it
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        # Interrupt until the work ends, not once: DuckDB forgets an interrupt when a query
        # starts, so a Ctrl-C between two queries of the work, or before its first query began
        # (a loaded machine), would otherwise be lost and the query run to its end.
        deadline = time.monotonic() + 10
        con.interrupt()
        while not done.wait(0.05) and time.monotonic() < deadline:
            con.interrupt()
        raise
    finally:
        if previous in (signal.SIG_IGN, signal.SIG_DFL):
            signal.signal(signal.SIGINT, previous)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def use_index(catalog: Catalog, index: Path) -> None:
    """Read ``idc_index`` from ``index`` (another release's idc_index.parquet) instead of the built one."""
    from .catalog import INDEX_GRAIN, parquet_relation

    index = index.resolve()
    if not index.is_file():
        raise IdcQcError(f"no index file at {index}")
    catalog.relations["idc_index"] = parquet_relation(
        "idc_index", "IDC index", INDEX_GRAIN["idc_index"], f"IDC's idc_index read from {index}", index)
    catalog.files = sorted(set(catalog.files) | {str(index)})


def prepare(sql: str, dialect: str, catalog: Catalog | None = None) -> Transpiled:
    """Transpile (BigQuery) and check ``sql``; raises before anything runs when it is not a read."""
    transpiled = transpile(sql, dialect, local_tables=catalog.names() if catalog is not None else None)
    check_read_only(transpiled.sql)
    return transpiled


def release_warnings(transpiled: Transpiled, catalog: Catalog) -> list[str]:
    named = sorted(r for r in transpiled.releases if r != "current")
    if not named or catalog.index_release is None:
        return []
    other = [r for r in named if int(r) != int(catalog.index_release)]
    if not other:
        return []
    return [f"the query names IDC release(s) {', '.join('v' + r for r in other)}; this warehouse holds the v"
            f"{catalog.index_release} index and the instance input it was built from"]


_BINDER_COLUMN = re.compile(
    r'(?:Referenced column|column with name|Column) "([^"]+)"(?: not found| referenced| does not)'
    r'|does not have a column named "([^"]+)"', re.IGNORECASE)


def _in_projection(node, select) -> bool:
    child = node
    while child.parent is not None and child.parent is not select:
        child = child.parent
    return child.parent is select and child.arg_key == "expressions"


def unresolved_columns(sql: str, catalog: Catalog) -> list[tuple[str, str | None]]:
    """Columns the DuckDB query reads that no source in their scope has: (column, local table or None).

    Scope by scope (sqlglot's scope analysis): a column is resolved when a table of its scope
    (a local relation whose columns are known, or a subquery / CTE by its output names) has it,
    or when it names a SELECT alias of the same scope; struct fields and ``*`` are skipped.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope, traverse_scope

    try:
        scopes = traverse_scope(sqlglot.parse_one(sql, read="duckdb"))
    except Exception:  # noqa: BLE001 - best effort: the binder's own column is still reported
        return []
    columns_of = {name.lower(): {c.lower() for c in r.columns} for name, r in catalog.relations.items()}
    found: list[tuple[str, str | None]] = []
    for scope in scopes:
        select_aliases = {a.lower() for a in getattr(scope.expression, "named_selects", [])} \
            if isinstance(scope.expression, exp.Select) else set()

        def outputs(source) -> set[str] | None:
            if isinstance(source, exp.Table):
                return columns_of.get(source.name.lower())
            if isinstance(source, Scope):
                expression = source.expression
                alias_columns = expression.parent.args.get("alias") if expression.parent is not None else None
                names = {n.lower() for n in getattr(expression, "named_selects", [])}
                if isinstance(alias_columns, exp.TableAlias) and alias_columns.columns:
                    names |= {c.name.lower() for c in alias_columns.columns}
                if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                       for e in getattr(expression, "expressions", [])):
                    return None  # SELECT *: the outputs are not known here
                return names
            return None

        for column in scope.columns:
            if isinstance(column.this, exp.Star) or isinstance(column.parent, exp.Dot):
                continue
            name = column.name.lower()
            if column.table:
                source = scope.sources.get(column.table)
                if source is None:
                    continue  # alias.field of an UNNESTed struct, or an outer reference
                candidates = [source]
            else:
                if name in select_aliases and not _in_projection(column, scope.expression):
                    continue  # WHERE / GROUP BY / ORDER BY may name a SELECT alias
                candidates = list(scope.sources.values())
            known = [outputs(c) for c in candidates]
            if not candidates or any(k is None or name in k for k in known):
                continue
            tables = [c.name.lower() for c in candidates if isinstance(c, exp.Table)]
            entry = (column.name, tables[0] if len(tables) == 1 else (INSTANCE_RELATION if INSTANCE_RELATION in tables else None))
            if entry[0].lower() not in {f[0].lower() for f in found}:
                found.append(entry)
    return found


def explain_condition_error(exc: Exception, what: str, columns: list[str]) -> str:
    """One line for a DuckDB error raised by a user's condition or expression: ``what``, then the
    reason; a column that does not exist is named with the most similar columns of the source."""
    import difflib

    match = _BINDER_COLUMN.search(str(exc))
    if match:
        column = match.group(1) or match.group(2)
        similar = difflib.get_close_matches(column, columns, n=5, cutoff=0.5) or \
            difflib.get_close_matches(column.lower(), [c.lower() for c in columns], n=5, cutoff=0.5)
        hint = f"similar: {', '.join(similar)}" if similar else f"its columns: {', '.join(columns[:20])}" + \
            (f" and {len(columns) - 20} more" if len(columns) > 20 else "")
        return f"{what}: no column {column!r} ({hint})"
    if type(exc).__name__ == "PermissionException":
        return f"{what}: refused by the contained connection (it reads only the warehouse and its input files)"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{what}: {lines[0] if lines else type(exc).__name__}"


def explain_missing_column(exc: Exception, transpiled: Transpiled, catalog: Catalog) -> IdcQcError | None:
    """A binder error about a column turned into one line naming every column the local data lacks."""
    match = _BINDER_COLUMN.search(str(exc))
    if not match:
        return None
    column = match.group(1) or match.group(2)
    missing = unresolved_columns(transpiled.sql, catalog)
    names = [m[0] for m in missing]
    if column.lower() not in {n.lower() for n in names}:
        missing.insert(0, (column, None))
        names.insert(0, column)
    from_instances = [m[0] for m in missing if m[1] == INSTANCE_RELATION]
    listed = ", ".join(names[:15]) + (f" and {len(names) - 15} more" if len(names) > 15 else "")
    if from_instances and INSTANCE_RELATION in catalog.relations:
        have = catalog.relations[INSTANCE_RELATION].columns
        what = "it" if len(names) == 1 else f"{len(names)} columns the query reads: {listed}"
        return MissingColumn(
            f"column {column} is not in the local data: the local instance input (dicom_all) lacks {what} "
            f"(IDC's dicom_all has ~800 columns; this input has {len(have)}, see `idc-qc query --tables` and "
            "docs/instance_contract.md; add the columns to the instance parquet to query them)")
    table = next((m[1] for m in missing if m[0] == column and m[1]), None)
    return MissingColumn(f"column {column} is not in {table or 'the tables the query reads'}"
                         + (f" (nor are: {', '.join(n for n in names if n != column)})" if len(names) > 1 else "")
                         + "; `idc-qc query --tables` lists each table, `DESCRIBE <table>` its columns")


def explain_sequence_access(exc: Exception, transpiled: Transpiled, catalog: Catalog) -> IdcQcError | None:
    """A query on an ``idc-qc ingest`` (or ``synth``) input that reads into a sequence it cannot read: one line
    saying why, instead of DuckDB's binder error about a list or a struct. Sequences the files
    carry are read as records (:func:`idc_qc.query.catalog.adapt_dicom_all`); one that no
    file carries is NULL and has no items to type its fields by."""
    view = catalog.instance_view
    if not catalog.instance_input_carries_every_attribute or view is None:
        return None
    from ..instances.dicom_columns import JSON, column_for_keyword

    used = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", transpiled.sql))
    absent = [c for c in view.absent if c in used and (column := column_for_keyword(c)) is not None and column.kind == JSON]
    said = str(exc).splitlines()[0]
    if absent:
        return IdcQcError(
            f"the query reads into {', '.join(absent)}, which no instance of this input carries: a sequence that is "
            "absent has no items to read fields of (in IDC's dicom_all they come from other kinds of objects); run it "
            f"on files that carry {'them' if len(absent) > 1 else 'it'} (DuckDB said: {said})")
    nested = [c for c in view.nested if c in used]
    if nested:
        return IdcQcError(
            f"the query reads a field that no item of {', '.join(nested)} carries in this input (each sequence is read "
            f"with the fields its items have in these files; DuckDB said: {said})")
    return None


def absent_attribute_warnings(con, transpiled: Transpiled, catalog: Catalog) -> list[str]:
    """On an ``idc-qc ingest`` or ``synth`` input, dicom_all read as IDC's for the attributes the query reads
    (:func:`idc_qc.query.catalog.adapt_dicom_all`); what was read as NULL is said."""
    if not catalog.instance_input_carries_every_attribute:
        return []
    unresolved = [name for name, table in unresolved_columns(transpiled.sql, catalog) if table in (INSTANCE_RELATION, None)]
    named = sorted(set(re.findall(r"[A-Za-z][A-Za-z0-9]*", transpiled.sql)))  # sequences are read by name
    added, _ = adapt_dicom_all(con, catalog, unresolved, named, transpiled.sql)
    if not added:
        return []
    listed = ", ".join(added[:15]) + (f" and {len(added) - 15} more" if len(added) > 15 else "")
    return [f"read as NULL: no instance of this input carries {listed} (an attribute an instance lacks is NULL in "
            "IDC's dicom_all too)"]


def run_query(db: Path, sql: str, *, dialect: str = "duckdb", index: Path | None = None,
              progress: bool = False) -> QueryResult:
    """Run ``sql`` on the warehouse ``db`` read-only and contained; the whole result as Arrow.

    ``index``: read ``idc_index`` from this parquet file (another IDC release) instead.
    """
    import duckdb

    prepare(sql, dialect)  # refuse before opening anything
    with contained(db, index=index, progress=progress) as (con, catalog, warnings):
        transpiled = prepare(sql, dialect, catalog)  # again: qualified names checked against the warehouse
        warnings += release_warnings(transpiled, catalog)
        warnings += absent_attribute_warnings(con, transpiled, catalog)
        started = time.perf_counter()
        try:
            table = interruptible(con, lambda: con.sql(transpiled.sql).to_arrow_table())
        except duckdb.BinderException as exc:
            explained = explain_missing_column(exc, transpiled, catalog) or explain_sequence_access(exc, transpiled, catalog)
            if explained is not None:
                raise explained from None
            raise IdcQcError(f"the query does not bind: {str(exc).splitlines()[0]}") from None
        except duckdb.PermissionException as exc:
            raise IdcQcError(f"refused by the contained connection: {str(exc).splitlines()[0]} (idc-qc query reads "
                             "only the warehouse and the files it was built from)") from None
        except duckdb.CatalogException as exc:
            raise IdcQcError(f"the query failed: {str(exc).splitlines()[0]} (idc-qc query --tables lists what "
                             "can be queried)") from None
        except duckdb.Error as exc:
            raise IdcQcError(f"the query failed: {str(exc).splitlines()[0]}") from None
        seconds = time.perf_counter() - started
    return QueryResult(transpiled=transpiled, table=table, seconds=seconds, warnings=warnings)


def explain(db: Path | None, sql: str, *, dialect: str = "duckdb") -> Transpiled:
    """The SQL that would run (checked against the warehouse's tables when ``db`` exists)."""
    if db is not None and Path(db).exists():
        with contained(db) as (_con, catalog, warnings):
            transpiled = prepare(sql, dialect, catalog)
            transpiled.warnings = warnings + release_warnings(transpiled, catalog)
            return transpiled
    return prepare(sql, dialect)


def list_tables(db: Path) -> list:
    """Every relation a query can read, IDC's names first, with grain, description and columns."""
    with contained(db, describe=True) as (_con, catalog, _warnings):
        order = {"IDC instance input": 0, "IDC index": 1, "IDC published index": 1, "mart": 2, "report": 3, "seed": 4, "view": 5,
                 "intermediate": 6, "staging": 7, "build record": 8}
        return sorted(catalog.relations.values(), key=lambda r: (order.get(r.kind, 9), r.name))


def check_output(out: Path) -> str:
    """The format of ``out`` (csv, parquet, json), or a one-line error before anything runs."""
    fmt = OUTPUT_FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise IdcQcError(f"cannot write {Path(out).name!r}: the file name must end in .csv, .parquet or .json")
    if Path(out).is_dir():
        raise IdcQcError(f"cannot write to {out}: it is a folder")
    return fmt


def write_result(table, out: Path) -> Path:
    """Write an Arrow result to ``out`` (.csv, .parquet, .json / .jsonl: one JSON object a line).

    A separate in-memory DuckDB connection writes the file (the query's own connection cannot
    write files); it is written under a temporary name and renamed when complete.
    """

    import duckdb

    out = Path(out)
    fmt = check_output(out)
    options = {"csv": "(format csv, header true)", "parquet": "(format parquet)", "json": "(format json)"}[fmt]
    from ..database.atomic import atomic_path

    with atomic_path(out) as partial, duckdb.connect() as writer:
        writer.register("result", table)
        source = "result"
        if fmt == "csv":
            # CSV has no lists or structs: write them as JSON text so they survive a round trip.
            types = writer.execute("describe result").fetchall()
            cols = [f'to_json("{n}") as "{n}"' if ("[]" in t or t.startswith(("STRUCT", "MAP"))) else f'"{n}"'
                    for n, t, *_ in types]
            source = f"(select {', '.join(cols)} from result)"
        copy = f"copy {source} to '{str(partial).replace(chr(39), chr(39) * 2)}' {options}"
        interruptible(writer, lambda: writer.execute(copy))
    return out


def table_columns(db: Path, names: list[str]) -> list[tuple[object, list[tuple[str, str, str]]]]:
    """``--tables NAME``: each named relation (its own name or one of IDC's) with its columns,
    their types and descriptions (the dbt yml's, as the build stored them); a one-line error
    naming what exists when a name is unknown."""
    with contained(db, describe=True) as (con, catalog, _warnings):
        lookup = {}
        for relation in catalog.relations.values():
            lookup[relation.name.lower()] = relation
            for idc_name in relation.idc_names:
                lookup.setdefault(idc_name.lower(), relation)
                lookup.setdefault(idc_name.lower().rsplit(".", 1)[-1], relation)
        found = []
        for name in names:
            relation = lookup.get(name.lower().strip("`"))
            if relation is None:
                import difflib

                close = difflib.get_close_matches(name.lower(), list(catalog.relations), n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise IdcQcError(f"no table {name!r} in {db}{hint}: `idc-qc query --tables` lists them all")
            rows = con.execute(
                "select column_name, data_type, coalesce(comment, '') from duckdb_columns() "
                "where table_name = ? order by database_name = 'temp' desc, column_index", [relation.name]
            ).fetchall()
            seen, columns = set(), []
            for column, data_type, comment in rows:
                if column not in seen:
                    seen.add(column)
                    columns.append((column, data_type, " ".join(comment.split())))
            found.append((relation, columns))
        return found
