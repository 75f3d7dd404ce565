"""Benchmark the clinical capability over all of IDC's index: registration, the clinical
models' build, and a bias selection, each against a floor.

Floors: registration vs reading the same CSV with pandas; the build of the clinical models vs
one DuckDB query that joins the index parquet to the clinical rows and counts patients per
collection (what the marts do, without harmonizing, classifying or writing tables); the bias
query vs a plain count over patient_clinical.

Example::

    python benchmarks/bench_clinical.py --clinical ../shared/data/clinical/tcga_pancan_clinical.csv --work /tmp/bench_clinical
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path


def _timed(label: str, fn):
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<58} {seconds:8.2f} s")
    return value, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinical", type=Path, required=True, help="TCGA Pan-Cancer clinical CSV")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_clinical"), help="scratch folder (replaced)")
    args = parser.parse_args(argv)

    import duckdb
    import pandas as pd

    from idc_qc.bias import Selection, compute_bias
    from idc_qc.build import build
    from idc_qc.clinical import register
    from idc_qc.paths import idc_index_dir

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    db = args.work / "idc_qc.duckdb"
    index = str(idc_index_dir() / "idc_index.parquet")
    print(f"clinical file: {args.clinical} ({args.clinical.stat().st_size / 1e6:.1f} MB)")

    print("registration")
    result, t_register = _timed("idc-qc clinical add (acronym + index fallback)", lambda: register(
        args.clinical, args.work / "clinical", patient_id_column="bcr_patient_barcode", collection_column="acronym",
        collection_prefix="tcga_", collection_from_index=True))
    _, t_floor = _timed("floor: pandas.read_csv of the same file", lambda: pd.read_csv(args.clinical))
    print(f"  rows {result.rows_read:,} = written {result.rows_written:,} + rejected {result.rows_rejected:,}; "
          f"x{t_register / t_floor:.1f} the floor")

    print("build (index only: series over all of IDC, then the clinical models)")
    built, t_build = _timed("idc-qc build -s '+patient_clinical+ +rpt_bias_census_reference'", lambda: build(
        db, None, select=["+patient_clinical+ +rpt_bias_census_reference"]))
    csv = str(args.clinical).replace("'", "''")
    floor_sql = (f"select i.collection_id, count(distinct i.PatientID) from read_parquet('{index}') i "
                 f"join read_csv('{csv}') c on c.bcr_patient_barcode = i.PatientID group by 1")
    _, t_floor = _timed("floor: one DuckDB join of index parquet and CSV", lambda: duckdb.connect().execute(floor_sql).fetchall())
    print("  rows: " + ", ".join(f"{k}={v:,}" for k, v in sorted((built.row_counts or {}).items())
                                   if k in {"series", "patient_clinical", "rpt_clinical_coverage", "rpt_bias_distributions"}))

    print("bias")
    selection = Selection(where="collection_id like 'tcga_%' and Modality in ('CT','MR','PT')")
    _, t_bias = _timed("compute_bias(--where ..., reference census)", lambda: compute_bias(db, selection, reference="census"))
    _, t_default = _timed("compute_bias() default selection (rpt_bias_distributions)", lambda: compute_bias(db))
    with duckdb.connect(str(db), read_only=True) as con:
        _, t_floor = _timed("floor: count(*) group by collection, sex over patient_clinical", lambda: con.execute(
            "select collection_id, sex_category, count(*) from patient_clinical group by all").fetchall())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
