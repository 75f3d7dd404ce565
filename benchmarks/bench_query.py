"""Benchmark `idc-qc query`: what the safety, the transpiler and the contained connection cost.

Figures printed, each against its floor:

* ``transpile``   -- every SQL file of idc-index-data through idc_qc.query.transpile (ms each);
* ``open``        -- contained(db): open read-only, read the catalog, create IDC's names, lock
  down; floor: ``duckdb.connect(db, read_only=True)``;
* ``query``       -- run_query of a BigQuery-dialect GROUP BY over ``idc_current.dicom_all``
  (the whole instance input); floor: the same aggregate in plain DuckDB SQL over the same
  parquet files on an unrestricted connection. Target: within 1.2x of the floor plus the
  ``open`` overhead.

Usage::

    python benchmarks/bench_query.py --db /tmp/fullscale/idc_qc.duckdb      # any build with --instances
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def _timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("build/idc_qc.duckdb"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import duckdb
    import idc_index_data

    from idc_qc.query.catalog import read_catalog
    from idc_qc.query.run import contained, run_query
    from idc_qc.query.transpile import transpile

    folder = Path(idc_index_data.__file__).resolve().parent
    print(f"idc-index-data {idc_index_data.__version__}; database {args.db}")
    print("\ntranspile (BigQuery -> DuckDB, with the fixes):")
    for sql_file in sorted(folder.glob("*.sql")):
        text = sql_file.read_text()

        def once() -> None:
            try:
                transpile(text)
            except Exception:  # noqa: BLE001 - refused files still cost their parse
                pass
        print(f"  {sql_file.name:32} {1000 * _timed(once, args.repeat):7.1f} ms")

    floor_open = _timed(lambda: duckdb.connect(str(args.db), read_only=True).close(), args.repeat)

    def open_contained() -> None:
        with contained(args.db):
            pass
    ours_open = _timed(open_contained, args.repeat)
    print(f"\nopen: contained {1000 * ours_open:.0f} ms; floor (plain read-only connect) {1000 * floor_open:.0f} ms")

    with duckdb.connect(str(args.db), read_only=True) as con:
        catalog = read_catalog(con)
    files = catalog.instance_files
    listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    floor_sql = (f"select Modality, count(*) as instances, count(distinct SeriesInstanceUID) as series "
                 f"from read_parquet({listing}, union_by_name = true) group by Modality order by instances desc")
    ours_sql = ("SELECT Modality, COUNT(*) AS instances, COUNT(DISTINCT SeriesInstanceUID) AS series "
                "FROM `bigquery-public-data.idc_current.dicom_all` GROUP BY Modality ORDER BY instances DESC")

    def floor_query() -> None:
        with duckdb.connect() as con:
            con.execute(floor_sql).fetchall()
    floor_q = _timed(floor_query, args.repeat)
    result = {}

    def our_query() -> None:
        result["r"] = run_query(args.db, ours_sql, dialect="bigquery")
    ours_q = _timed(our_query, args.repeat)
    rows = result["r"].rows
    instances = sum(result["r"].table.column("instances").to_pylist())
    limit = 1.2 * floor_q + ours_open
    print(f"query: {instances:,} instances, {rows} modalities; idc-qc query {ours_q:.2f} s (of which the query "
          f"{result['r'].seconds:.2f} s); floor {floor_q:.2f} s; target <= 1.2 x floor + open = {limit:.2f} s: "
          f"{'PASS' if ours_q <= limit else 'FAIL'}")


if __name__ == "__main__":
    main()
