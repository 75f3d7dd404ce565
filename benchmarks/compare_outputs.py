"""Compare two output folders of idc-qc (two `idc-qc demo --out` runs, two builds), file for file.

    python benchmarks/compare_outputs.py BEFORE_DIR AFTER_DIR [--skip PATTERN ...]

Prints, for every file in either folder: only in one of them, the same bytes, or differing;
for a DuckDB database, each table's rows compared as multisets, EXCEPT ALL both ways in DuckDB
(tables only in one listed); for a parquet or CSV file, its rows compared the same way. What is expected to differ between two
runs (timestamps, build ids, absolute paths, dbt's logs and targets) is left out of the
comparison and said so. Exit 0 when every shared table and file holds the same rows.

--skip PATTERN (repeatable; a shell pattern such as `stg_*`): tables and views of the databases
left out of the row comparison and listed as skipped. At IDC's scale the parsed instances
(int_instances__geometry_parsed, 49M rows) and the staging views over the raw input took longer
than every other table together; the issue 24 check compares every mart and `rpt_*` model with
`--skip int_instances__geometry_parsed --skip 'stg_dicom__*'`.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import sys
from pathlib import Path

import duckdb

#: Models renamed since (issue 19: int_<entity>__<verb>): compared under their new name.
RENAMED = {"int_instances_geometry_parsed": "int_instances__geometry_parsed",
           "int_instances_slice_positions": "int_instances__slice_positions",
           "int_series_geometry_aggregated": "int_series__geometry_aggregated",
           "int_series_geometry_judged": "int_series__geometry_judged"}
#: Files and folders that differ on every run by nature.
SKIPPED_PARTS = {"dbt", "logs", "target"}
SKIPPED_SUFFIXES = {".log", ".lock"}
#: Columns that hold a time, a build id or a path: left out of row comparison.
VOLATILE = ("_at", "build_id", "time", "path", "timestamp", "seconds", "elapsed", "started", "finished",
            "manifest", "generated", "duration")


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and not (set(p.relative_to(root).parts) & SKIPPED_PARTS) and p.suffix not in SKIPPED_SUFFIXES}


def _column_types(con, relation: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"describe select * from {relation}").fetchall()}


def _stable_columns(con, relation: str) -> list[str]:
    return [c for c in _column_types(con, relation) if not any(v in c.lower() for v in VOLATILE)]


def _except_all(con, a: str, b: str, columns: list[str]) -> tuple[int, int, int, int]:
    """Rows of a and b, and how many of each are not in the other, counted as multisets
    (EXCEPT ALL both ways) in the engine: a row twice in a and once in b is one row only
    before. Scales to IDC's 49M instances, where Python sets of rows would not. A column of the
    same type on both sides is compared as it is (a double to the last bit); one whose type
    changed, as text."""
    type_a, type_b = (_column_types(con, relation) for relation in (a, b))
    select = ", ".join(f'"{c}"' if type_a[c] == type_b[c] else f'cast("{c}" as varchar)' for c in columns) or "1"

    def count(query: str) -> int:
        return con.execute(f"select count(*) from ({query})").fetchone()[0]

    return (count(f"select 1 from {a}"), count(f"select 1 from {b}"),
            count(f"select {select} from {a} except all select {select} from {b}"),
            count(f"select {select} from {b} except all select {select} from {a}"))


def _compare_db(a: Path, b: Path, skip: tuple[str, ...] = ()) -> tuple[bool, list[str]]:
    lines, same = [], True
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    tables = {}
    for alias in ("a", "b"):
        tables[alias] = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'main'",
            [alias]).fetchall()}
    before_name = {RENAMED.get(n, n): n for n in tables["a"]}
    tables["a"] = set(before_name)
    for name in sorted(tables["a"] | tables["b"]):
        if name not in tables["b"]:
            lines.append(f"    table {name}: only before")
            continue
        if name not in tables["a"]:
            lines.append(f"    table {name}: only after")
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in skip):
            lines.append(f"    table {name}: skipped (--skip)")
            continue
        old = before_name[name]
        ca, cb = _stable_columns(con, f'a."{old}"'), _stable_columns(con, f'b."{name}"')
        shared = [c for c in ca if c in cb]
        na, nb, only_a, only_b = _except_all(con, f'a."{old}"', f'b."{name}"', shared)
        extra = sorted(set(ca) ^ set(cb))
        verdict = "same rows" if only_a == only_b == 0 else f"DIFFER ({only_a} rows only before, {only_b} only after)"
        same &= only_a == only_b == 0
        renamed = f" (before: {old})" if old != name else ""
        lines.append(f"    table {name}{renamed}: {na} / {nb} rows, {verdict}"
                     + (f"; columns in one only: {', '.join(extra)}" if extra else ""))
    return same, lines


def _compare_table_file(a: Path, b: Path) -> tuple[bool, str]:
    con = duckdb.connect()
    reader = "read_parquet" if a.suffix == ".parquet" else "read_csv_auto"
    ra_rel, rb_rel = f"{reader}('{a}')", f"{reader}('{b}')"
    ca, cb = _stable_columns(con, ra_rel), _stable_columns(con, rb_rel)
    shared = [c for c in ca if c in cb]
    na, nb, only_a, only_b = _except_all(con, ra_rel, rb_rel, shared)
    extra = sorted(set(ca) ^ set(cb))
    same = only_a == only_b == 0
    text = f"{na} / {nb} rows, " + ("same rows" if same else f"DIFFER ({only_a} only before, {only_b} only after)")
    return same, text + (f"; columns in one only: {', '.join(extra)}" if extra else "")


def compare(before: Path, after: Path, skip: tuple[str, ...] = ()) -> int:
    fa, fb = _files(before), _files(after)
    differing = 0
    for rel in sorted(set(fa) | set(fb)):
        if rel not in fb:
            print(f"{rel}: only before")
            continue
        if rel not in fa:
            print(f"{rel}: only after")
            continue
        a, b = fa[rel], fb[rel]
        if hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest():
            print(f"{rel}: same bytes")
        elif a.suffix == ".duckdb":
            same, lines = _compare_db(a, b, skip)
            differing += not same
            print(f"{rel}: database, " + ("every shared table holds the same rows" if same else "tables differ"))
            print("\n".join(lines))
        elif a.suffix in {".parquet", ".csv"}:
            try:
                same, text = _compare_table_file(a, b)
            except duckdb.Error as exc:
                same, text = False, f"cannot compare rows: {str(exc).splitlines()[0]}"
            differing += not same
            print(f"{rel}: {text}")
        else:
            print(f"{rel}: differs (text, image or JSON: timestamps, ids and paths differ on every run)")
    print(f"\n{len(set(fa) & set(fb))} files in both, {len(set(fa) - set(fb))} only before, "
          f"{len(set(fb) - set(fa))} only after; {differing} table file(s) with differing rows")
    return 0 if differing == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--skip", action="append", default=[], metavar="PATTERN",
                        help="a table or view name or shell pattern left out of the row comparison (repeatable)")
    args = parser.parse_args(argv)
    for folder in (args.before, args.after):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    return compare(args.before, args.after, tuple(args.skip))


if __name__ == "__main__":
    sys.exit(main())
