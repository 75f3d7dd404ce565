{{ config(materialized='table') }}
-- One row per series present in the instance metadata: what the instance headers say
-- about the series. min() rather than any_value() so DuckDB and BigQuery pick the
-- same value when instances disagree. A table: three marts (series, series_geometry,
-- series_converters) and two data tests read it, and as a view each of them grouped every
-- instance row again (on input in arbitrary order, one of the build's costliest passes; issue 24).

with instances as (
    select * from {{ ref('stg_dicom__instances') }}
    -- a row without a SeriesInstanceUID belongs to no series (unusable_instances lists it)
    where {{ idc_qc.has_text('SeriesInstanceUID') }}
),

aggregated as (
    select
        SeriesInstanceUID,
        min(StudyInstanceUID) as StudyInstanceUID,
        min(PatientID) as PatientID,
        min(collection_id) as collection_id,
        min(Modality) as Modality,
        min(SOPClassUID) as SOPClassUID,
        count(distinct SOPClassUID) as sop_class_count,
        min(BodyPartExamined) as BodyPartExamined,
        min(Manufacturer) as Manufacturer,
        min(ManufacturerModelName) as ManufacturerModelName,
        min(PatientAge) as PatientAge,
        min(PatientSex) as PatientSex,
        min(SeriesDescription) as SeriesDescription,
        count(*) as metadata_instance_count
    from instances
    group by SeriesInstanceUID
)

select * from aggregated
