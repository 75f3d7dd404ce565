"""IDC's own SQL, as shipped in idc-index-data, through `idc-qc query --dialect bigquery`.

Every .sql file of the installed idc-index-data is run against a real-header build whose
input also carries the extra dicom_all columns IDC's CT/MR/PT/contrast queries read
(tests/support/query.py). Those that run are compared with an independent computation:
volume_geometry_index with series_geometry (IDC-compatible, docs/geometry.md), the others
with a DuckDB query written here by hand over the same parquet file. Those that cannot run
locally must fail for the reason listed in docs/query.md, in one line (never a bare binder
error); a file a new idc-index-data adds fails the test until it is classified here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from idc_qc.errors import IdcQcError
from idc_qc.query.run import MissingColumn, run_query
from idc_qc.query.transpile import NotReadOnly, UnknownTable
from support.data import REAL_HEADERS, require_shared
from support.geometry import compare_with_idc, series_geometry_frame
from support.query import CT, MR, PT, query_warehouse, write_derived_instances

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

#: Files that run and are compared (the comparison below).
RUN = ["volume_geometry_index.sql", "ct_index.sql", "mr_index.sql", "pt_index.sql", "contrast_index.sql"]
#: Files that cannot run locally: (error class, words the one-line error must hold). docs/query.md lists them.
NOT_RUN = {
    "idc_index.sql": (UnknownTable, "dicom_metadata_curated has no local counterpart"),
    "collections_index.sql": (UnknownTable, "original_collections_metadata has no local counterpart"),
    "analysis_results_index.sql": (UnknownTable, "analysis_results_metadata has no local counterpart"),
    "version_metadata_index.sql": (UnknownTable, "version_metadata has no local counterpart"),
    "clinical_index.sql": (UnknownTable, "clinical table"),
    "prior_versions_index.sql": (NotReadOnly, "EXECUTE IMMEDIATE"),
    "seg_index.sql": (MissingColumn, "lacks"),
    "rtstruct_index.sql": (MissingColumn, "lacks"),
    "sm_index.sql": (MissingColumn, "lacks"),
    "sm_instance_index.sql": (MissingColumn, "lacks"),
    "ann_index.sql": (MissingColumn, "lacks"),
    "ann_group_index.sql": (MissingColumn, "lacks"),
}


def _idc_sql_dir() -> Path:
    import idc_index_data

    return Path(idc_index_data.__file__).resolve().parent


@pytest.fixture(scope="module")
def derived(tmp_path_factory) -> Path:
    real = require_shared(REAL_HEADERS)
    return write_derived_instances(real, tmp_path_factory.mktemp("query_input") / "instances.parquet")


@pytest.fixture(scope="module")
def warehouse(derived, tmp_path_factory) -> Path:
    return query_warehouse(derived, tmp_path_factory.mktemp("query_db"))


def test_every_shipped_sql_file_is_classified():
    shipped = sorted(p.name for p in _idc_sql_dir().glob("*.sql"))
    unclassified = set(shipped) - set(RUN) - set(NOT_RUN)
    assert not unclassified, f"new IDC SQL files: classify them in this test and docs/query.md: {unclassified}"


def test_files_that_cannot_run_say_why_in_one_line(warehouse):
    print("\nIDC SQL files that do not run locally:")
    for name, (error, words) in sorted(NOT_RUN.items()):
        with pytest.raises(IdcQcError) as info:
            run_query(warehouse, (_idc_sql_dir() / name).read_text(), dialect="bigquery")
        message = str(info.value)
        print(f"  {name}: {type(info.value).__name__}: {message[:160]}")
        assert isinstance(info.value, error), (name, message)
        assert words in message and "\n" not in message and "Binder Error" not in message


# ---------------------------------------------------------------------------------------
# the geometry query against series_geometry
# ---------------------------------------------------------------------------------------

def test_volume_geometry_index_agrees_with_series_geometry(warehouse):
    result = run_query(warehouse, (_idc_sql_dir() / "volume_geometry_index.sql").read_text(), dialect="bigquery")
    idc = result.table.to_pandas().set_index("SeriesInstanceUID")
    compared, mismatches = compare_with_idc(series_geometry_frame(warehouse), idc)
    print(f"\nvolume_geometry_index.sql: {result.rows} rows in {result.seconds:.2f} s; {compared} series compared with "
          f"series_geometry, {len(mismatches)} disagreements")
    assert compared == len(idc) > 50
    assert mismatches == []
    # the WITH OFFSET fix is what makes the oblique series agree: some series are oblique
    assert (idc.obliquity_degrees.dropna() > 1).any()


# ---------------------------------------------------------------------------------------
# CT / MR / PT / contrast against hand-written DuckDB
# ---------------------------------------------------------------------------------------

# (output column, how IDC aggregates it, the DuckDB expression over one instance row)
#   any: ANY_VALUE -> the value must be one of the series' non-NULL values (NULL when there is none)
#   min / max: exact;  set: the sorted distinct non-NULL values
_PIXEL = [
    ("PixelSpacing_row_mm", "any", "try_cast(PixelSpacing[1] as double)"),
    ("PixelSpacing_col_mm", "any", "try_cast(PixelSpacing[2] as double)"),
    ("Rows", "any", '"Rows"'),
    ("Columns", "any", '"Columns"'),
    ("SliceThickness", "any", "try_cast(SliceThickness as double)"),
]
SPECS = {
    "ct_index.sql": (f"SOPClassUID = '{CT}'", [
        ("ImageType", "any", "ImageType"), *_PIXEL,
        ("KVP", "any", "try_cast(KVP as double)"),
        ("ScanOptions", "any", "ScanOptions"),
        ("ConvolutionKernel", "any", "ConvolutionKernel"),
        ("GantryDetectorTilt", "any", "try_cast(GantryDetectorTilt as double)"),
        ("XRayTubeCurrent_min", "min", "try_cast(XRayTubeCurrent as double)"),
        ("XRayTubeCurrent_max", "max", "try_cast(XRayTubeCurrent as double)"),
        ("FilterType", "any", "FilterType"),
        ("Exposure_min", "min", "try_cast(Exposure as double)"),
        ("Exposure_max", "max", "try_cast(Exposure as double)"),
        ("ExposureTime_min", "min", "try_cast(ExposureTime as double)"),
        ("ExposureTime_max", "max", "try_cast(ExposureTime as double)"),
        ("DataCollectionDiameter", "any", "try_cast(DataCollectionDiameter as double)"),
        ("ReconstructionDiameter", "any", "try_cast(ReconstructionDiameter as double)"),
        ("SpiralPitchFactor", "any", "SpiralPitchFactor"),
    ]),
    "mr_index.sql": (f"SOPClassUID = '{MR}'", [
        ("MagneticFieldStrength", "any", "try_cast(MagneticFieldStrength as double)"),
        ("ScanningSequence", "any", "ScanningSequence"),
        ("SequenceVariant", "any", "SequenceVariant"),
        ("MRAcquisitionType", "any", "MRAcquisitionType"),
        ("EchoTime", "set", "try_cast(EchoTime as double)"),
        ("RepetitionTime", "any", "try_cast(RepetitionTime as double)"),
        ("EchoTrainLength", "any", "try_cast(EchoTrainLength as bigint)"),
        ("FlipAngle", "any", "try_cast(FlipAngle as double)"),
        ("PixelBandwidth", "any", "try_cast(PixelBandwidth as double)"),
        ("ImagingFrequency", "any", "try_cast(ImagingFrequency as double)"),
        ("ImagedNucleus", "any", "ImagedNucleus"), *_PIXEL,
        ("InversionTime", "any", "try_cast(InversionTime as double)"),
        ("ReceiveCoilName", "any", "ReceiveCoilName"),
        ("SequenceName", "any", "SequenceName"),
        ("DiffusionBValue", "set", "DiffusionBValue"),
        ("NumberOfTemporalPositions", "any", "try_cast(NumberOfTemporalPositions as bigint)"),
    ]),
    "pt_index.sql": (f"SOPClassUID = '{PT}'", [
        ("SeriesType", "any", "nullif(array_to_string(SeriesType, '/'), '')"),
        ("Units", "any", "Units"),
        ("DecayCorrection", "any", "DecayCorrection"),
        ("CorrectedImage", "any", "CorrectedImage"),
        ("RandomsCorrectionMethod", "any", "RandomsCorrectionMethod"),
        ("ReconstructionMethod", "any", "ReconstructionMethod"),
        ("ActualFrameDuration", "set", "try_cast(ActualFrameDuration as double)"),
        ("ScatterCorrectionMethod", "any", "ScatterCorrectionMethod"),
        ("AttenuationCorrectionMethod", "any", "AttenuationCorrectionMethod"),
        ("RadionuclideCodeMeaning", "any",
         "RadiopharmaceuticalInformationSequence[1].RadionuclideCodeSequence[1].CodeMeaning"),
        ("RadionuclideTotalDose", "any",
         "try_cast(RadiopharmaceuticalInformationSequence[1].RadionuclideTotalDose as double)"),
        ("RadiopharmaceuticalStartTime", "any",
         "cast(RadiopharmaceuticalInformationSequence[1].RadiopharmaceuticalStartTime as varchar)"),
        ("Radiopharmaceutical", "any", "RadiopharmaceuticalInformationSequence[1].Radiopharmaceutical"), *_PIXEL,
        ("NumberOfSlices", "any", "NumberOfSlices"),
        ("NumberOfTimeSlices", "any", "NumberOfTimeSlices"),
    ]),
    "contrast_index.sql": ("Modality in ('CT', 'MR', 'PT', 'XA', 'RF')", [
        ("ContrastBolusAgent", "set", "ContrastBolusAgent"),
        ("ContrastBolusIngredient", "set", "ContrastBolusIngredient"),
        ("ContrastBolusRoute", "set", "ContrastBolusRoute"),
    ]),
}


def _independent(instances: Path, where: str, spec: list) -> dict[str, dict]:
    """Per series, what each column may be: hand-written DuckDB over the parquet file itself."""
    import duckdb

    parts = []
    for name, how, expr in spec:
        if how in ("any", "set"):
            parts.append(f"list_sort(list_distinct(list({expr}) filter (where ({expr}) is not null))) as \"{name}\"")
        else:
            parts.append(f"{how}({expr}) as \"{name}\"")
    sql = (f"select SeriesInstanceUID, {', '.join(parts)} from read_parquet('{instances}') "
           f"where {where} group by SeriesInstanceUID")
    with duckdb.connect() as con:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(columns, row)) for row in cursor.fetchall()}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _agrees(how: str, value, expected) -> bool:
    if how == "any":
        return (value is None and not expected) or any(_same(value, e) for e in expected)
    if how == "set":
        return list(value or []) == list(expected or [])
    return (value is None and expected is None) or _same(value, expected)


@pytest.mark.parametrize("name", ["ct_index.sql", "mr_index.sql", "pt_index.sql", "contrast_index.sql"])
def test_index_query_agrees_with_hand_written_duckdb(name, warehouse, derived):
    where, spec = SPECS[name]
    result = run_query(warehouse, (_idc_sql_dir() / name).read_text(), dialect="bigquery")
    rows = result.table.to_pylist()
    expected = _independent(derived, where, spec)
    if name == "contrast_index.sql":  # IDC keeps series with at least one contrast value
        expected = {uid: e for uid, e in expected.items() if any(e[c] for c, _, _ in spec)}
    disagreements = [(row["SeriesInstanceUID"], column, row[column], expected.get(row["SeriesInstanceUID"], {}).get(column))
                     for row in rows for column, how, _ in spec
                     if row["SeriesInstanceUID"] in expected
                     and not _agrees(how, row[column], expected[row["SeriesInstanceUID"]][column])]
    uids = [row["SeriesInstanceUID"] for row in rows]
    print(f"\n{name}: {len(rows)} rows in {result.seconds:.2f} s; {len(expected)} series by hand; "
          f"{len(spec)} columns compared; {len(disagreements)} disagreements {disagreements[:3]}")
    assert len(uids) == len(set(uids)) and set(uids) == set(expected) and len(uids) >= 2
    assert disagreements == []
    assert list(result.table.column_names[1:]) == [c for c, _, _ in spec]


def test_min_max_and_safe_cast_are_exercised(warehouse):
    """The derived input makes MIN differ from MAX and holds an unparseable XRayTubeCurrent (SAFE_CAST -> NULL)."""
    result = run_query(warehouse, (_idc_sql_dir() / "ct_index.sql").read_text(), dialect="bigquery").table.to_pylist()
    assert any(r["XRayTubeCurrent_min"] < r["XRayTubeCurrent_max"] for r in result if r["XRayTubeCurrent_min"] is not None)
