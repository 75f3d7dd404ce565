"""Benchmark ``idc-qc upset`` and ``idc-qc dashboard`` on a built database: wall time, peak
memory (the command's process tree) and the size of what they write.

Each command runs as a user runs it (the console script, in a subprocess), so the figures
include Python start-up and imports. Target on the project's 2-core machine: each within
20 s and 2 GB on the full-scale build (402,230 series with instance metadata, all 1,044,191
series of IDC's index in ``series``). The floor printed beside each is the bare SQL the
command's numbers come from, timed in-process on the same database.

Example::

    idc-qc build --instances /tmp/synth_full/instances --db /tmp/fullscale/idc_qc.duckdb --whole-index
    python benchmarks/bench_visuals.py --db /tmp/fullscale/idc_qc.duckdb --out /tmp/bench_visuals
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

TARGET_SECONDS = 20.0
TARGET_BYTES = 2 * 1024 ** 3


def _measure(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (bytes, process and children, sampled every 50 ms)."""
    import psutil

    started = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    return seconds, peak[0], subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _floor(db: Path, sql: str) -> float:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        started = time.perf_counter()
        con.execute(sql).fetchall()
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a full build (idc-qc build ...)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_visuals"))
    parser.add_argument("--collection", default="nlst", help="upset selection (Figure 5: nlst CT)")
    parser.add_argument("--modality", default="CT")
    args = parser.parse_args(argv)

    exe = shutil.which("idc-qc") or str(Path(sys.executable).with_name("idc-qc"))
    args.out.mkdir(parents=True, exist_ok=True)
    import duckdb

    with duckdb.connect(str(args.db), read_only=True) as con:
        series = con.execute("select count(*) from series").fetchone()[0]
        geometry = con.execute("select count(*) from series_geometry").fetchone()[0]
        kind = con.execute("select input_kind from rpt_build_context").fetchone()[0]
    print(f"database {args.db}: {series:,} series, {geometry:,} with instance geometry, input {kind}")

    runs = {
        "upset (checks, Figure 5)": ([exe, "upset", "--db", str(args.db), "-o", str(args.out), "--collection",
                                      args.collection, "--modality", args.modality, "--name", "bench_upset_checks"],
                                     ["bench_upset_checks.png", "bench_upset_checks.svg", "bench_upset_checks.csv"],
                                     "select fails_single_orientation, fails_uniform_slice_spacing, count(*) "
                                     "from rpt_geometry_upset_series group by all"),
        "upset (reasons, all series)": ([exe, "upset", "--db", str(args.db), "-o", str(args.out), "--sets", "reasons",
                                         "--name", "bench_upset_reasons"],
                                        ["bench_upset_reasons.png", "bench_upset_reasons.svg",
                                         "bench_upset_reasons.csv"],
                                        "select reason_missing_slices, reason_gantry_tilt, count(*) "
                                        "from rpt_geometry_upset_series group by all"),
        "dashboard": ([exe, "dashboard", "--db", str(args.db), "-o", str(args.out / "dashboard.html")],
                      ["dashboard.html"],
                      "select * from rpt_archive_collection_modality"),
    }
    failed = False
    print(f"{'command':<30} {'wall s':>7} {'peak MB':>8} {'floor s':>8}  files")
    for name, (cmd, files, floor_sql) in runs.items():
        seconds, peak, done = _measure(cmd)
        if done.returncode != 0:
            print(f"{name}: exit {done.returncode}\n{done.stderr}", file=sys.stderr)
            failed = True
            continue
        sizes = ", ".join(f"{f} {(args.out / f).stat().st_size / 1e6:.2f} MB" for f in files)
        ok = seconds <= TARGET_SECONDS and peak <= TARGET_BYTES
        print(f"{name:<30} {seconds:>7.2f} {peak / 1e6:>8.0f} {_floor(args.db, floor_sql):>8.3f}  {sizes}"
              f"{'' if ok else '  OVER TARGET'}")
        failed |= not ok
    print(f"target: each within {TARGET_SECONDS:.0f} s and {TARGET_BYTES / 1024 ** 3:.0f} GB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
