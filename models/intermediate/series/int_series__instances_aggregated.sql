{{ config(materialized='table') }}
-- One row per series present in the instance metadata: what the instance headers say
-- about the series. min() rather than any_value() so DuckDB and BigQuery pick the
-- same value when instances disagree. Read off int_series__instances_grouped (the one pass over
-- the instance rows, shared with the quality checks), whose groups hold every row with a
-- SeriesInstanceUID: the smallest of the groups' smallest values is the series' smallest, and
-- the distinct SOP classes are distinct across the groups, one of whose keys is SOPClassUID.
-- A table: three marts (series, series_geometry, series_converters) and two data tests read it.

with groups as (
    select * from {{ ref('int_series__instances_grouped') }}
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
        cast(sum(instance_count) as {{ dbt.type_bigint() }}) as metadata_instance_count
    from groups
    group by SeriesInstanceUID
)

select * from aggregated
