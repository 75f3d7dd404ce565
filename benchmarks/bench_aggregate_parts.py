"""What grouping every instance by series costs, piece by piece, against the floor (issue 24).

The verdicts' one pass over the instances is int_series__geometry_aggregated: a GROUP BY of every
parsed instance by series, with two per-series lists (the sorted positions, the sorted hashes of
the SOPInstanceUIDs) among its ~80 aggregates. On input in arbitrary order the build writes the
parsed instances as a table sorted by series first (macro series_ordered). This script times that
design and the pieces any other design would still have to pay, on the same file, each a
`CREATE TEMP TABLE` in a fresh DuckDB connection (the sorted table a persistent one, as the build
writes it; 2 threads, the 6 GB limit `idc-qc build` uses):

* ``floor``: bench_geometry.py's floor query (cast, project, `lead()` per series, min/max gap).
* ``group_count``: the parse of every instance (DS grammar), then a GROUP BY by series of a count
  and two minima: the least any per-series pass over the parsed instances costs.
* ``group_lists``: the same GROUP BY with only the aggregate's two sorted lists.
* ``window_gaps``: the gaps from a window partitioned by series instead of the lists: `lead()`
  over each series' positions, then their minimum, maximum, zero count and lower median.
* ``group_no_lists``: the aggregate's GROUP BY (compiled from the model) without its two lists.
* ``group_as_is``: the aggregate's GROUP BY as compiled, over the parse as it reads (no table).
* ``sorted_table`` and ``aggregate_on_table``: what the build runs on such input: the parsed
  instances written as a table sorted by series, then the whole aggregate model on it.

    python benchmarks/bench_aggregate_parts.py --instances '/work/bench24/synth_shuffled/instances/*.parquet'
    python benchmarks/bench_aggregate_parts.py --synth 40000 --order shuffled --work /tmp/parts

The SQL of the parts is the models' own, compiled by dbt for the DuckDB target (the parse as a
view with the var instances_series_ordered, the table without it), so the figures follow the
models as they change.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PARTS = ("floor", "group_count", "group_lists", "window_gaps", "group_no_lists", "group_as_is",
         "sorted_table", "aggregate_on_table")
DATABASE = "parts"  # the file stem: compiled SQL names its relations "parts"."main".<model>


def _compile(vars_: dict, folder: Path, series_ordered: bool, run: bool) -> Path:
    """dbt run (views) or compile of the parse and the aggregate into ``folder``, with the parse a
    view (``series_ordered``) or a table sorted by series: the folder of its compiled SQL."""
    from idc_qc.dbt_runner import run_dbt

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    vars_ = {**vars_, "instances_series_ordered": series_ordered}
    db = folder / f"{DATABASE}.duckdb"
    if run:  # the staging views and the parse as a view: nothing is computed
        run_dbt("run", db_path=db, select=["+int_instances__geometry_parsed"], vars=vars_)
    run_dbt("compile", db_path=db, select=["int_instances__geometry_parsed", "int_series__geometry_aggregated"],
            vars=vars_)
    return folder / "dbt" / "target" / "compiled" / "idc_qc" / "models" / "intermediate" / "geometry"


def part_sql(parts: list[str], view_sql: Path, table_sql: Path, instances: str) -> dict[str, str]:
    """Each part's statement (a query; ``sorted_table`` creates the table ``aggregate_on_table`` reads)."""
    from bench_geometry import _CAST_NINE, FLOOR_SQL

    aggregate = (view_sql / "int_series__geometry_aggregated.sql").read_text()
    lines = aggregate.splitlines()
    # the aggregate's CTEs up to its GROUP BY (every_series_grouped), without what follows
    end = next(i for i, line in enumerate(lines) if line.startswith("every_series as ("))
    head = "\n".join(lines[:end]).rstrip().rstrip(",")
    before_group = head.split("every_series_grouped as (")[0].rstrip().rstrip(",")
    no_lists = "\n".join(line for line in head.splitlines() if not re.search(r"list_sort\(list\(", line))
    relation = f"read_parquet('{instances}', union_by_name = true)"
    sql = {
        "floor": FLOOR_SQL.format(relation=relation, cast_nine=_CAST_NINE).split(" as\n", 1)[1],
        "group_count": before_group + """
select SeriesInstanceUID, count(*) as n, min(slice_position) as p, min(ipp_x) as x
from every_series_volumetric group by SeriesInstanceUID""",
        "group_lists": before_group + """
select SeriesInstanceUID,
    list_sort(list(hash(SOPInstanceUID)) filter (where SOPInstanceUID is not null)) as hashes,
    list_sort(list(slice_position) filter (where slice_position is not null)) as positions
from every_series_volumetric group by SeriesInstanceUID""",
        "window_gaps": before_group + """,
gaps as (
    select SeriesInstanceUID,
        lead(slice_position) over (partition by SeriesInstanceUID order by slice_position) - slice_position as gap
    from every_series_volumetric where slice_position is not null
)
select SeriesInstanceUID, min(gap) as min_gap, max(gap) as max_gap, count(case when gap = 0 then 1 end) as shared,
    quantile_disc(gap, 0.5) filter (where gap > 0) as nominal
from gaps group by SeriesInstanceUID""",
        "group_no_lists": no_lists + "\nselect * from every_series_grouped",
        "group_as_is": head + "\nselect * from every_series_grouped",
        "sorted_table": (table_sql / "int_instances__geometry_parsed.sql").read_text(),
        "aggregate_on_table": aggregate.replace(f'"{DATABASE}"."main"."int_instances__geometry_parsed"',
                                                "sorted_parsed"),
    }
    return {part: sql[part] for part in parts}


def run(instances: str, work: Path, parts: list[str], threads: int, memory_limit: str) -> list[dict]:
    import duckdb

    from bench_geometry import instance_vars

    vars_ = instance_vars(instances)  # the input checked once, for both compiles
    view_sql = _compile(vars_, work / "view", series_ordered=True, run=True)
    table_sql = _compile(vars_, work / "table", series_ordered=False, run=False)
    statements = part_sql(parts, view_sql, table_sql, instances)
    scratch = work / "scratch.duckdb"
    results = []
    for part, query in statements.items():
        with duckdb.connect(str(scratch), config={"threads": threads, "memory_limit": memory_limit,
                                                  "preserve_insertion_order": False}) as con:
            con.execute(f"attach '{work / 'view' / f'{DATABASE}.duckdb'}' as {DATABASE} (read_only)")
            # the table the build writes is persistent (a temp table is cheaper to write)
            create = "create or replace table sorted_parsed as" if part == "sorted_table" else "create temp table t as"
            start = time.perf_counter()
            con.execute(f"{create}\n{query}")
            seconds = time.perf_counter() - start
            rows = con.execute(f"select count(*) from {'sorted_parsed' if part == 'sorted_table' else 't'}").fetchone()[0]
        results.append({"part": part, "seconds": seconds, "rows": rows})
        print(f"{part:20s} {seconds:7.1f} s  {rows:>12,} rows", file=sys.stderr, flush=True)
    scratch.unlink(missing_ok=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--instances", help="a parquet file or glob of instances shaped like dicom_all")
    source.add_argument("--synth", type=int, metavar="N", help="write N series with idc-qc synth first (0: all 402,230)")
    parser.add_argument("--order", choices=("series", "shuffled"), default="shuffled", help="--synth's order")
    parser.add_argument("--work", type=Path, default=Path("bench_aggregate_parts"), help="scratch folder")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    if "aggregate_on_table" in parts and "sorted_table" not in parts:
        parser.error("aggregate_on_table reads the table sorted_table writes: give both")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.update({"IDC_QC_THREADS": str(args.threads), "IDC_QC_MEMORY_LIMIT": args.memory_limit})
    instances = args.instances
    if instances is None:
        from bench_geometry import synth_input

        instances = synth_input(args.synth, args.order, args.work)
    from idc_qc.errors import ContractError

    try:
        results = run(instances, args.work, parts, args.threads, args.memory_limit)
    except ContractError as exc:  # no file, a required column missing: one line, as idc-qc says it
        parser.exit(2, f"bench_aggregate_parts.py: {exc}\n")
    floor = next((r["seconds"] for r in results if r["part"] == "floor"), None)
    print(f"\ninstances: {instances}   threads: {args.threads}   memory_limit: {args.memory_limit}")
    print(f"{'part':20s} {'seconds':>8s} {'x floor':>8s} {'rows out':>12s}")
    for r in results:
        ratio = f"{r['seconds'] / floor:8.2f}" if floor else f"{'-':>8s}"
        print(f"{r['part']:20s} {r['seconds']:8.1f} {ratio} {r['rows']:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
