"""Benchmark `idc-qc check` and `idc-qc report` on a full-scale build, and the report's load time.

Each command runs as a user runs it (the console script, a fresh process); its wall time and
peak resident memory (the process and its children, sampled every 50 ms with psutil) are
printed, then headless chromium (Debian's, via Playwright, network off) opens the HTML and
the load-event time is printed.

Targets (issue 9): check + report together within 60 s and 4 GB peak; the HTML's load event
within 3 s. The floor they compare with: one DuckDB scan of the failing rows
(``select count(*), count(distinct SeriesInstanceUID) from rpt_qc_failures``), the least any
report must read.

The database must hold the rpt_qc_* models (any full build does)::

    python benchmarks/bench_synth.py --out /tmp/synth_full
    idc-qc build --instances /tmp/synth_full/instances --db /tmp/fullscale/idc_qc.duckdb --whole-index
    python benchmarks/bench_quality.py --db /tmp/fullscale/idc_qc.duckdb

check and report write only beside the database (<stem>.validation.json, .qc_failures.parquet,
.manifest.json, .qc_report.html/.csv).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_BYTES, TARGET_LOAD = 60.0, 4 * 1024**3, 3.0


def measure(argv: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes of the process tree, exit code)."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - started
    output = proc.stdout.read()
    print(output.rstrip())
    return wall, peak, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a full build (idc-qc build ...)")
    parser.add_argument("--no-browser", action="store_true", help="Skip the chromium load time.")
    args = parser.parse_args()
    script = shutil.which("idc-qc", path=str(Path(sys.executable).parent)) or "idc-qc"

    import duckdb

    with duckdb.connect(str(args.db), read_only=True) as con:
        t0 = time.perf_counter()
        rows, series = con.execute("select count(*), count(distinct SeriesInstanceUID) from rpt_qc_failures").fetchone()
        floor = time.perf_counter() - t0
        total_series = con.execute("select count(*) from series").fetchone()[0]
    print(f"database {args.db}: {total_series:,} series; rpt_qc_failures {rows:,} rows in {series:,} series "
          f"(floor scan {floor:.2f}s)")

    results = {}
    for name in ("check", "report"):
        print(f"\n--- idc-qc {name} ---")
        results[name] = measure([script, name, "--db", str(args.db)])
    html = args.db.with_name(args.db.stem + ".qc_report.html")
    load = None
    if not args.no_browser:
        sys.path.insert(0, str(REPO / "tests"))
        from support.browser import open_page

        with open_page(html) as view:
            load = view.load_seconds
            errors = view.console_errors
            rendered = view.page.locator("#failures-table tbody tr").count()
        print(f"\nchromium: load event {load:.2f}s, {rendered} table rows rendered, console errors: {errors or 'none'}")

    wall = sum(r[0] for r in results.values())
    peak = max(r[1] for r in results.values())
    print("\n| step | wall s | peak RSS MB | exit |")
    print("|---|---:|---:|---:|")
    for name, (w, p, code) in results.items():
        print(f"| {name} | {w:.1f} | {p / 1e6:,.0f} | {code} |")
    print(f"| together | {wall:.1f} | {peak / 1e6:,.0f} | |")
    print(f"\nHTML {html.stat().st_size / 1e6:.1f} MB; CSV {html.with_suffix('.csv').stat().st_size / 1e6:.1f} MB")
    verdicts = [("check + report within 60 s", wall <= TARGET_SECONDS), ("peak RSS within 4 GB", peak <= TARGET_BYTES)]
    if load is not None:
        verdicts.append(("HTML load event within 3 s", load <= TARGET_LOAD))
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _t, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
