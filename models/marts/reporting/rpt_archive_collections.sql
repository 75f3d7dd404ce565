-- One row per collection: series, studies, patients, instances, size, modalities and the
-- IDC release that first held it (series.first_idc_release). Patients and studies are
-- counted once per collection here, which rpt_archive_collection_modality cannot do.

with series as (
    select * from {{ ref('series') }}
),

final as (
    select
        coalesce(collection_id, 'unknown') as collection_id,
        count(*) as series_count,
        count(distinct StudyInstanceUID) as study_count,
        count(distinct PatientID) as patient_count,
        cast(coalesce(sum(instance_count), 0) as {{ dbt.type_bigint() }}) as instance_count,
        coalesce({{ idc_qc.sum_exact('series_size_mb') }}, 0) as size_mb,
        count(distinct Modality) as modality_count,
        min(first_idc_release) as first_idc_release,
        count(*) - count(first_idc_release) as series_without_release
    from series
    group by coalesce(collection_id, 'unknown')
)

select * from final
