"""Benchmark `idc-qc diff` and the release cache against floor queries over the same files.

* ``diff``        -- idc_qc.releases.diff.diff_releases(A, B): every figure `idc-qc diff` prints
  (series added/removed/revised, per-collection figures) from the two releases' parquet files;
* ``floor``       -- the least the diff's figures need, hand-written: one full outer join of the
  two indices on SeriesInstanceUID carrying collection, patient, instances and size of each
  side, grouped by collection (DuckDB, same files);
* ``floor_count`` -- the join alone, counting added / removed / kept (for scale);
* ``cache_check`` -- release_index(A) on a warm cache: size and sha256 of every cached file;
* ``sha_floor``   -- reading those files once (sha256 of each): the least a checked cache costs.

Target: ``diff`` within 2.5x of ``floor`` (the diff also checks both releases' cached files, sha256, ~0.25 s); ``cache_check`` within 1.5x of ``sha_floor``.

Usage::

    python benchmarks/bench_releases.py               # v20 -> v25 (fetched into the cache if needed)
    python benchmarks/bench_releases.py --a 23 --b 25 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time


def _time(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=int, default=20)
    parser.add_argument("--b", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import duckdb

    from idc_qc.releases.cache import fetch_release, sha256_file
    from idc_qc.releases.diff import diff_releases

    a, b = fetch_release(args.a), fetch_release(args.b)

    def floor() -> None:
        duckdb.connect().execute(
            "select coalesce(y.collection_id, x.collection_id), count(x.SeriesInstanceUID), count(y.SeriesInstanceUID), "
            "count(distinct x.PatientID), count(distinct y.PatientID), sum(x.instanceCount), sum(y.instanceCount), "
            "sum(x.series_size_MB), sum(y.series_size_MB) "
            "from read_parquet(?) x full outer join read_parquet(?) y using (SeriesInstanceUID) group by 1",
            [str(a.index), str(b.index)]).fetchall()

    def floor_count() -> None:
        duckdb.connect().execute(
            "select count(*) filter (where x.SeriesInstanceUID is null), count(*) filter (where y.SeriesInstanceUID is null), "
            "count(*) filter (where x.SeriesInstanceUID is not null and y.SeriesInstanceUID is not null) "
            "from read_parquet(?) x full outer join read_parquet(?) y using (SeriesInstanceUID)",
            [str(a.index), str(b.index)]).fetchall()

    def sha_floor() -> None:
        for path in a.folder.iterdir():
            if path.is_file() and path.suffix in (".parquet", ".whl"):
                sha256_file(path)

    figures = {
        "diff": _time(lambda: diff_releases(args.a, args.b), args.repeat),
        "floor": _time(floor, args.repeat),
        "floor_count": _time(floor_count, args.repeat),
        "cache_check": _time(lambda: fetch_release(args.a), args.repeat),
        "sha_floor": _time(sha_floor, args.repeat),
    }
    print(f"v{args.a} ({a.version}, {a.source}) -> v{args.b} ({b.version}, {b.source}); median of {args.repeat}")
    for name, seconds in figures.items():
        print(f"  {name:<12} {seconds:7.2f} s")
    for name, floor_name, limit in (("diff", "floor", 2.5), ("cache_check", "sha_floor", 1.5)):
        ratio = figures[name] / figures[floor_name]
        print(f"  {name} / {floor_name} = {ratio:.2f} (target <= {limit}): {'PASS' if ratio <= limit else 'FAIL'}")


if __name__ == "__main__":
    main()
