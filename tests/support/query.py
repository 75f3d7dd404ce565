"""Test data for `idc-qc query`: real headers carrying the extra dicom_all columns IDC's index queries read.

The real headers (../shared/data/real_headers) hold the contract's columns. IDC's ct_index,
mr_index, pt_index and contrast_index read acquisition attributes beyond the contract (KVP,
XRayTubeCurrent, MagneticFieldStrength, RadiopharmaceuticalInformationSequence, ...). The
derived input adds them with dicom_all's own types (decimal strings as STRING, multi-valued
attributes as ARRAY<STRING>, sequences as arrays of structs), values made from hashes of the
UIDs: constant within a series where IDC aggregates with ANY_VALUE, varying per instance where
it takes MIN/MAX, with NULLs and an unparseable string sprinkled in for SAFE_CAST. Two CT
series are copied as PET (new UIDs, PET Image Storage) so pt_index has rows.
"""

from __future__ import annotations

from pathlib import Path

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
PT = "1.2.840.10008.5.1.4.1.1.128"

_DERIVED_SQL = """
create or replace table base as select * from read_parquet('{real}');
create or replace table with_pt as
select * from base
union all by name
select * replace (SeriesInstanceUID || '.77' as SeriesInstanceUID, SOPInstanceUID || '.77' as SOPInstanceUID,
                  '{pt}' as SOPClassUID, 'PT' as Modality)
from base
where SeriesInstanceUID in (select distinct SeriesInstanceUID from base where SOPClassUID = '{ct}' order by 1 limit 2);

create or replace table derived as
select *,
    -- per series (IDC aggregates with ANY_VALUE)
    cast(100 + 20 * (hash(SeriesInstanceUID) % 3) as varchar) as KVP,
    ['HELICAL MODE'] as ScanOptions,
    [case hash(SeriesInstanceUID) % 2 when 0 then 'B30f' else 'STANDARD' end] as ConvolutionKernel,
    'BODY FILTER' as FilterType,
    '500' as DataCollectionDiameter,
    cast(300 + hash(SeriesInstanceUID) % 100 as varchar) as ReconstructionDiameter,
    cast(0.5 + (hash(SeriesInstanceUID) % 5) / 10.0 as double) as SpiralPitchFactor,
    -- per instance (IDC takes MIN and MAX), with NULLs and a value SAFE_CAST turns into NULL
    case when hash(SOPInstanceUID) % 7 = 0 then null
         when hash(SOPInstanceUID) % 11 = 0 then 'not a number'
         else cast(80 + hash(SOPInstanceUID) % 300 as varchar) end as XRayTubeCurrent,
    case when hash(SOPInstanceUID) % 5 = 0 then null else cast(10 + hash(SOPInstanceUID) % 90 as varchar) end as Exposure,
    cast(500 + hash(SOPInstanceUID) % 1000 as varchar) as ExposureTime,
    -- MR
    case hash(SeriesInstanceUID) % 2 when 0 then '1.5' else '3' end as MagneticFieldStrength,
    ['SE', 'IR'] as ScanningSequence,
    ['SK', 'SP'] as SequenceVariant,
    '2D' as MRAcquisitionType,
    cast(400 + hash(SeriesInstanceUID) % 2000 as varchar) as RepetitionTime,
    cast(1 + hash(SeriesInstanceUID) % 16 as varchar) as EchoTrainLength,
    '90' as FlipAngle,
    '130' as PixelBandwidth,
    '63.87' as ImagingFrequency,
    '1H' as ImagedNucleus,
    case when hash(SeriesInstanceUID) % 3 = 0 then null else '2200' end as InversionTime,
    'HEAD' as ReceiveCoilName,
    '*tse2d1_15' as SequenceName,
    case when hash(SOPInstanceUID) % 4 = 0 then null else cast(100 * (hash(SOPInstanceUID) % 3) as double) end
        as DiffusionBValue,
    cast(1 + hash(SeriesInstanceUID) % 3 as varchar) as NumberOfTemporalPositions,
    -- PET
    ['STATIC', 'IMAGE'] as SeriesType,
    'BQML' as Units,
    'START' as DecayCorrection,
    ['ATTN', 'DECY'] as CorrectedImage,
    'DLYD' as RandomsCorrectionMethod,
    'OSEM' as ReconstructionMethod,
    cast(60000 * (1 + hash(SOPInstanceUID) % 3) as varchar) as ActualFrameDuration,
    'MODEL' as ScatterCorrectionMethod,
    'CT' as AttenuationCorrectionMethod,
    case when SOPClassUID = '{pt}' then [{{
        'RadionuclideCodeSequence': [{{'CodeMeaning': '^18^Fluorine'}}],
        'RadionuclideTotalDose': cast(3.0e8 + hash(SeriesInstanceUID) % 1000 as varchar),
        'RadiopharmaceuticalStartTime': '101500.000000',
        'Radiopharmaceutical': 'Fluorodeoxyglucose'}}] end as RadiopharmaceuticalInformationSequence,
    cast(100 + hash(SeriesInstanceUID) % 50 as bigint) as NumberOfSlices,
    cast(1 as bigint) as NumberOfTimeSlices,
    -- contrast
    case when hash(SeriesInstanceUID) % 3 = 0 then 'OMNIPAQUE' end as ContrastBolusAgent,
    case when hash(SeriesInstanceUID) % 3 = 0 then 'IODINE' end as ContrastBolusIngredient,
    case when hash(SOPInstanceUID) % 2 = 0 and hash(SeriesInstanceUID) % 3 = 0 then 'IV' end as ContrastBolusRoute
from with_pt;
copy derived to '{out}' (format parquet);
"""


def write_derived_instances(real_headers: Path, out: Path) -> Path:
    """The real headers plus the dicom_all columns of IDC's CT/MR/PT/contrast queries, in ``out``."""
    import duckdb

    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(_DERIVED_SQL.format(real=str(real_headers), out=str(out), ct=CT, pt=PT))
    return out


_BUILT: dict[str, Path] = {}


def query_warehouse(instances: Path, folder: Path) -> Path:
    """A full build (every model) over ``instances``, once per test session."""
    from idc_qc.build import build

    key = str(instances)
    if key not in _BUILT:
        db = folder / "query" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
        db.parent.mkdir(parents=True, exist_ok=True)
        build(db, key)
        _BUILT[key] = db
    return _BUILT[key]


def make_warehouse(root: Path, *, index_dir: Path | None = None) -> Path:
    """A real DuckDB file shaped like a build, without dbt (fast): a complete build record, a
    ``series`` table, ``stg_dicom__instances`` reading a two-instance parquet in place, and
    ``stg_idc_index__series`` reading ``index_dir/idc_index.parquet`` (a one-series index made
    here when ``index_dir`` is None; pass idc-index-data's folder for IDC's real index).
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from idc_qc.database.record import BUILD_TABLE, BUILD_TABLE_DDL

    instances = root / "input" / "instances.parquet"
    instances.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "SeriesInstanceUID": ["1.2.3", "1.2.3"], "SOPInstanceUID": ["1.2.3.1", "1.2.3.2"],
        "SOPClassUID": [CT] * 2, "Modality": ["CT", "CT"],
        "ImagePositionPatient": [["0", "0", "0"], ["0", "0", "2.5"]],
        "ImageOrientationPatient": [["1", "0", "0", "0", "1", "0"]] * 2,
    }), instances)
    if index_dir is None:
        index_dir = root / "index"
        index_dir.mkdir(exist_ok=True)
        pq.write_table(pa.table({"SeriesInstanceUID": ["1.2.3"], "collection_id": ["demo"]}), index_dir / "idc_index.parquet")
    db = root / "idc_qc.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(BUILD_TABLE_DDL)
        con.execute(f"insert into {BUILD_TABLE} values ('b1', now(), now(), 'complete', ?, null, '[]', '{{}}', '[]', "
                    "'test', null)", [str(instances)])
        con.execute("create table series as select * from (values ('1.2.3', 'CT')) t(SeriesInstanceUID, Modality)")
        con.execute("comment on table series is 'Grain: one row per series. A test table.'")
        con.execute(f"create view stg_dicom__instances as select * from read_parquet(['{instances}'], union_by_name = true)")
        con.execute(f"create view stg_idc_index__series as select * from read_parquet('{index_dir / 'idc_index.parquet'}')")
        if (index_dir / "version_metadata_index.parquet").exists():
            con.execute(f"create view stg_idc_index__releases as select * from "
                        f"read_parquet('{index_dir / 'version_metadata_index.parquet'}')")
    return db
