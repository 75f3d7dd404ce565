-- What the archive holds, by collection and modality: series, studies, patients, instances
-- and size, over every series of `series` (all of IDC's index when built with
-- --whole-index or from the index alone, plus the input's). The dashboard's first charts.
-- Patients are distinct (collection_id, PatientID), as IDC counts them, so they add up
-- across collections but not across modalities of one collection (a patient with CT and MR
-- counts under both): the dashboard reads collection totals from rpt_archive_collections.

with series as (
    select * from {{ ref('series') }}
),

labelled as (
    select
        coalesce(collection_id, 'unknown') as collection_id,
        coalesce(Modality, 'unknown') as Modality,
        PatientID,
        StudyInstanceUID,
        instance_count,
        series_size_mb
    from series
),

final as (
    select
        collection_id,
        Modality,
        count(*) as series_count,
        count(distinct StudyInstanceUID) as study_count,
        count(distinct PatientID) as patient_count,
        cast(coalesce(sum(instance_count), 0) as {{ dbt.type_bigint() }}) as instance_count,
        coalesce({{ idc_qc.sum_exact('series_size_mb') }}, 0) as size_mb
    from labelled
    group by collection_id, Modality
)

select * from final
