"""Helpers for the quality tests: synthetic builds with injected faults and malformed values.

``malformed_instances`` writes a small parquet file of extra instances (the declared schema of
idc_qc/instances) beside synth's parts: copies of one regular synthetic series under new UIDs
with DICOM values broken on purpose, and returns how many instance rows (or series) each rule
must find. Geometry faults come from idc-qc synth and its truth file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Faults whose series-level reason is one word of the seed and shared by no other fault
#: (duplicate positions also leave gaps; 4D stacks can be incomplete; a localizer is left out).
GEOMETRY_FAULTS = ("missing_slices", "variable_spacing", "gantry_tilt", "mixed_orientation",
                   "non_orthogonal_orientation", "inconsistent_pixel_spacing", "inconsistent_dimensions",
                   "in_plane_shift", "malformed_position")


@dataclass
class QualityBuild:
    db: Path
    truth: Path
    injected: dict[str, int]      # check_name -> failing rows expected (instances, or series for series checks)


def malformed_instances(synth_dir: Path, out_file: Path) -> dict[str, int]:
    """Write ``out_file``: two copies of a regular synthetic series with malformed values."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from idc_qc.instances.schema import BY_NAME, arrow_schema

    con = duckdb.connect()
    uid = con.execute(
        "select SeriesInstanceUID from read_parquet(?) where fault = 'none' and n_instances_written between 6 and 40 "
        "order by SeriesInstanceUID limit 1", [str(synth_dir / "truth.parquet")]).fetchone()[0]
    table = pq.read_table(synth_dir / "instances", filters=[("SeriesInstanceUID", "=", uid)])
    table = table.sort_by([("InstanceNumber", "ascending")])
    rows = table.to_pylist()
    n = len(rows)
    first, second = [dict(r) for r in rows], [dict(r) for r in rows]
    for k, r in enumerate(first):
        r["SeriesInstanceUID"] = "1.2.826.0.1.3680043.9.7777.1"
        r["SOPInstanceUID"] = f"1.2.826.0.1.3680043.9.7777.1.{k + 1}"
        r["PatientAge"] = "65"                       # no Age String unit: invalid value (every instance)
        r["Modality"] = "XYZ"                        # no DICOM defined term (every instance)
        if k < 3:
            r["PatientSex"] = "X"                    # not M, F or O (three instances)
        if k < 2:
            r["SOPInstanceUID"] = f"1.2.826.0.1.3680043.9.7777.01.{k + 1}"   # leading zero in a component
        if k == 0:
            r["StudyInstanceUID"] = "1.2.826.0.1.3680043.9.7777.99"          # another study: inconsistent
    for k, r in enumerate(second):
        r["SeriesInstanceUID"] = "1.2.826.0.1.3680043.9.7777..2"             # an empty component
        r["SOPInstanceUID"] = f"1.2.826.0.1.3680043.9.7777.2.{k + 1}"
    # the declared columns typed as declared; synth's wider columns (StudyDate, ...) as synth wrote them
    schema = pa.schema([arrow_schema([name]).field(0) if name in BY_NAME else table.schema.field(name)
                        for name in table.column_names])
    pq.write_table(pa.Table.from_pylist(first + second, schema=schema), out_file)
    return {
        "PatientAge: invalid value": n,
        "Modality: value not allowed": n,
        "PatientSex: value not allowed": 3,
        "SOPInstanceUID: invalid value": 2,
        "SeriesInstanceUID: invalid value": n,
        "series instances agree on StudyInstanceUID": 1,
    }


def geometry_expected(truth: Path) -> dict[str, int]:
    """check_name -> series the truth says must fail it (faults IDC's tolerances call regular excluded)."""
    import csv

    import duckdb

    from support.data import REPO

    reasons: dict[str, str] = {}
    with (REPO / "seeds" / "geometry_reasons.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["level"] == "series" and row["synth_fault"] in GEOMETRY_FAULTS and row["synth_fault"] != "malformed_position":
                reasons[row["synth_fault"]] = row["label"]
    counts = dict(duckdb.connect().execute(
        "select fault, count(*) from read_parquet(?) where expected_regularly_spaced_3d_volume = false group by fault",
        [str(truth)]).fetchall())
    expected = {f"geometry: {label}": counts.get(fault, 0) for fault, label in reasons.items()}
    kinds = dict(duckdb.connect().execute(
        "select case when fault_detail like '%kind=null%' then 'missing' else 'malformed' end, count(*) "
        "from read_parquet(?) where fault = 'malformed_position' group by 1", [str(truth)]).fetchall())
    expected["geometry: missing ImagePositionPatient"] = kinds.get("missing", 0)
    expected["geometry: malformed ImagePositionPatient"] = kinds.get("malformed", 0)
    expected["ImagePositionPatient: missing"] = kinds.get("missing", 0)
    expected["ImagePositionPatient: invalid value"] = kinds.get("malformed", 0)
    return expected


def build_quality(out: Path, *, faults: bool, series: int = 400, seed: int = 11) -> QualityBuild:
    """Synthesize (with or without faults), add malformed values when ``faults``, build everything."""
    from idc_qc.build import build
    from idc_qc.synth import FaultRates, synthesize

    rates = FaultRates(**{f: (0.9 / len(GEOMETRY_FAULTS) if f in GEOMETRY_FAULTS else 0.0)
                          for f in FaultRates.__dataclass_fields__}) if faults else FaultRates.zero()
    result = synthesize(out / "synth", series_limit=series, seed=seed, rates=rates, modalities=("CT", "MR"))
    injected: dict[str, int] = {}
    if faults:
        injected = malformed_instances(out / "synth", out / "synth" / "instances" / "part-99999.parquet")
    db = out / "idc_qc.duckdb"
    build(db, str(out / "synth" / "instances"))
    return QualityBuild(db=db, truth=result.truth_path, injected=injected)


_BUILDS: dict[tuple[str, bool], QualityBuild] = {}


def cached_quality_build(tmp_path_factory, *, faults: bool) -> QualityBuild:
    """One build per kind per test session, shared by tests/cli and tests/reports."""
    key = (str(tmp_path_factory.getbasetemp()), faults)
    if key not in _BUILDS:
        _BUILDS[key] = build_quality(tmp_path_factory.mktemp("quality_faults" if faults else "quality_clean"),
                                     faults=faults)
    return _BUILDS[key]
