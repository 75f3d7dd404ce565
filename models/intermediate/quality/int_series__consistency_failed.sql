-- One row per series whose instances disagree on the patient or the study (min <> max over
-- the series' value combinations, int_series__values_grouped): files of two patients or
-- studies sharing a SeriesInstanceUID. Read by rpt_qc_failures.

with checked as (
    select * from {{ ref('int_series__values_grouped') }}
),

-- one row per input series: who and what its instances say
identities as (
    select
        SeriesInstanceUID,
        min(collection_id) as collection_id,
        min(PatientID) as min_patient,
        max(PatientID) as max_patient,
        min(StudyInstanceUID) as min_study,
        max(StudyInstanceUID) as max_study
    from checked
    group by SeriesInstanceUID
),

final as (
    select
        'instances' as suite,
        'series instances agree on PatientID' as check_name,
        'PatientID' as attribute,
        'inconsistent' as error_kind,
        SeriesInstanceUID,
        collection_id,
        {{ dbt.concat(['min_patient', "' vs '", 'max_patient']) }} as observed,
        cast(null as {{ dbt.type_bigint() }}) as failing_instance_count,
        cast(null as {{ dbt.type_string() }}) as sample_SOPInstanceUID
    from identities
    where min_patient <> max_patient
    union all
    select
        'instances', 'series instances agree on StudyInstanceUID', 'StudyInstanceUID', 'inconsistent',
        SeriesInstanceUID, collection_id,
        {{ dbt.concat(['min_study', "' vs '", 'max_study']) }},
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ dbt.type_string() }})
    from identities
    where min_study <> max_study
)

select * from final
