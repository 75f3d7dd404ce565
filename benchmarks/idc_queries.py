"""Which of IDC's own dicom_all queries run on a build, and why the others do not.

    python benchmarks/idc_queries.py --db build/ingested.duckdb
    python benchmarks/idc_queries.py --test-files /tmp/idc_queries     # writes, ingests and builds them first

Runs every SQL file idc-index-data ships that reads dicom_all (one per index IDC publishes:
ct_index.sql, mr_index.sql, volume_geometry_index.sql, ...) through ``idc-qc query --dialect
bigquery`` on the database and prints a table: runs, rows, and the one-line reason for each
that does not. On a build of ``idc-qc ingest`` or ``idc-qc synth`` output an attribute no
instance carries reads as NULL (synth writes what IDC's index knows per series); on a
hand-made parquet a query naming a column it lacks says so. ``--test-files DIR`` writes the
DICOM files tests/cli/test_ingest.py reads (a CT series per geometry fault, the same faults as
enhanced CT objects, a CT series and a highdicom SEG of it) into DIR, runs ``idc-qc ingest`` and
``idc-qc build`` on them and uses that database.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.idc_queries import markdown, run_all


def _build_test_files(folder: Path) -> Path:
    import shutil
    import subprocess

    from support.dicom_files import write_enhanced_fault_objects, write_fault_series, write_segmentation

    shutil.rmtree(folder, ignore_errors=True)
    write_fault_series(folder / "in" / "series")
    write_enhanced_fault_objects(folder / "in" / "enhanced")
    write_segmentation(folder / "in" / "segmentation")
    db = folder / "ingested.duckdb"
    for command in (["ingest", str(folder / "in"), "-o", str(folder / "out")],
                    ["build", "--instances", str(folder / "out"), "--db", str(db)]):
        subprocess.run([sys.executable, "-m", "idc_qc.cli", *command], check=True, capture_output=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a database idc-qc build wrote")
    parser.add_argument("--test-files", type=Path, help="write the ingest tests' DICOM files here, ingest and build them")
    args = parser.parse_args()
    if args.test_files is not None:
        args.db = _build_test_files(args.test_files)
    elif args.db is None:
        parser.error("give --db or --test-files")
    started = time.perf_counter()
    outcomes = run_all(args.db)
    print(markdown(outcomes))
    ran = sum(o.ran for o in outcomes)
    print(f"\n{ran} of {len(outcomes)} queries ran on {args.db} ({time.perf_counter() - started:.1f} s); "
          f"{sum(o.crashed for o in outcomes)} crashed")


if __name__ == "__main__":
    main()
