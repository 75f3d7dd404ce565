"""Print the agreement table: series_converters' predictions against what highdicom,
dicom2nifti, dcm2niix and SimpleITK really do, per fault and tool.

Writes every case of tests/support/converters.py (one geometry fault each, at sizes just
inside and just outside each tool's tolerance) as real DICOM files with pydicom, runs the
four tools on them, builds series_converters once over the same files and compares series
by series; then the same cases as one enhanced multi-frame object each (highdicom's legacy
converter), read by `idc-qc ingest` into its frames table. Every miss is listed with what the tool said; the known ones are explained in the
notes of seeds/converter_rules.csv. Needs the `test` extra (the four tools).

Example::

    python benchmarks/converter_agreement.py --work /tmp/converter_agreement
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/converter_agreement"), help="scratch folder (replaced)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "tests"))
    from support.converters import agreement_table, build_and_compare, build_and_compare_objects, outcome_table

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    started = time.perf_counter()
    _, comparisons = build_and_compare(args.work)
    print("== each case as a series of files")
    print(outcome_table(comparisons))
    print()
    print(agreement_table(comparisons))
    objects, not_objects = build_and_compare_objects(args.work / "as_objects", series_folder=args.work / "dicom")
    print("\n== each case as one multi-frame object (highdicom's legacy converter; read by idc-qc ingest)")
    print(outcome_table(objects))
    print()
    print(agreement_table(objects))
    for name, why in not_objects.items():
        print(f"  not an object: {name}: {why}")
    print(f"\n(written, converted and built in {time.perf_counter() - started:.0f} s)")
    every = comparisons + objects
    right = sum(c.agrees for c in every)
    return 0 if right >= 0.99 * len(every) else 1


if __name__ == "__main__":
    sys.exit(main())
