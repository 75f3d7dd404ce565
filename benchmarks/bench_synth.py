"""Benchmark ``idc_qc.synth.synthesize``: wall time, peak memory, rows, bytes on disk.

Runs the full set (every single-frame CT/MR/PT series of IDC's index, ~49.4M instances)
unless ``--series-limit`` is given.

Example::

    python benchmarks/bench_synth.py --out /tmp/synth_full
    python benchmarks/bench_synth.py --series-limit 2000 --out /tmp/synth_demo
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from pathlib import Path


def _rss_sampler(stop: threading.Event, peak: list[int], interval: float = 0.2) -> None:
    """Track the peak resident set size of this process and its children (psutil)."""
    import psutil

    me = psutil.Process()
    while not stop.is_set():
        try:
            rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
        except psutil.Error:
            rss = 0
        peak[0] = max(peak[0], rss)
        stop.wait(interval)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/synth_full"), help="output folder")
    parser.add_argument("--series-limit", type=int, default=None, help="series to sample (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no per-part progress lines")
    args = parser.parse_args(argv)

    from idc_qc.synth import synthesize

    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_rss_sampler, args=(stop, peak), daemon=True)
    sampler.start()
    last = [time.perf_counter()]

    def progress(done: int, total: int) -> None:
        if not args.quiet and done:
            now = time.perf_counter()
            print(f"  {done:>9,} / {total:,} series  (+{now - last[0]:.1f}s)", file=sys.stderr, flush=True)
            last[0] = now

    started = time.perf_counter()
    # overwrite: replaces only an earlier synth run's own files (synth_manifest.json); refuses foreign ones
    result = synthesize(args.out, series_limit=args.series_limit, seed=args.seed, progress=progress, overwrite=True)
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()

    # ru_maxrss is in KiB on Linux: the kernel's own peak, including threads' transient use.
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    parts = len(list((args.out / "instances").glob("*.parquet")))
    print(f"series            {result.series:,}")
    print(f"instances (rows)  {result.instances:,}")
    print(f"parts             {parts}")
    print(f"bytes written     {result.bytes_written:,} ({result.bytes_written / 2**30:.2f} GiB)")
    print(f"bytes on disk     {_du(args.out):,}")
    print(f"wall time         {wall:.1f} s  (synthesize reported {result.seconds:.1f} s)")
    print(f"rows / second     {result.instances / wall:,.0f}")
    print(f"peak RSS          {max(self_peak, peak[0]) / 2**30:.2f} GiB (getrusage self {self_peak / 2**30:.2f} GiB, "
          f"children {child_peak / 2**30:.2f} GiB, sampled {peak[0] / 2**30:.2f} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
