-- Coverage counts per collection with clinical data, and one row '(all)' over them: what
-- `idc-qc clinical coverage` prints and the curators' report shows. Patients are counted
-- once per collection (a patient in two collections counts in each).
-- The shares are what `idc-qc check`'s clinical suite (expectations/gx/expectations/
-- rpt_clinical_coverage_summary.json) holds against expectations/thresholds.yml:
--   imaging_only_share = imaging_only / patients_with_imaging (null when no patient has images)
--   conflict_share     = patients_with_conflicts / imaging_and_clinical (a conflict needs both
--                        sides; null when no patient has both)

with coverage as (
    select * from {{ ref('rpt_clinical_coverage') }}
),

per_collection as (
    select
        collection_id,
        cast(count(*) as {{ dbt.type_bigint() }}) as patients,
        cast(sum(case when has_imaging then 1 else 0 end) as {{ dbt.type_bigint() }}) as patients_with_imaging,
        cast(sum(case when has_clinical then 1 else 0 end) as {{ dbt.type_bigint() }}) as patients_with_clinical,
        cast(sum(case when coverage_status = 'imaging_and_clinical' then 1 else 0 end) as {{ dbt.type_bigint() }}) as imaging_and_clinical,
        cast(sum(case when coverage_status = 'imaging_and_clinical' and ct_mr_pt_series_count > 0 then 1 else 0 end) as {{ dbt.type_bigint() }}) as ct_mr_pt_and_clinical,
        cast(sum(case when coverage_status = 'imaging_only' then 1 else 0 end) as {{ dbt.type_bigint() }}) as imaging_only,
        cast(sum(case when coverage_status = 'clinical_only' then 1 else 0 end) as {{ dbt.type_bigint() }}) as clinical_only,
        cast(sum(case when matches_only_in_other_collection then 1 else 0 end) as {{ dbt.type_bigint() }}) as clinical_only_matching_other_collection,
        cast(sum(case when has_duplicate_clinical_rows then 1 else 0 end) as {{ dbt.type_bigint() }}) as patients_with_duplicate_clinical_rows,
        cast(sum(case when sex_conflict then 1 else 0 end) as {{ dbt.type_bigint() }}) as sex_conflicts,
        cast(sum(case when age_conflict then 1 else 0 end) as {{ dbt.type_bigint() }}) as age_conflicts,
        cast(sum(case when sex_conflict or age_conflict then 1 else 0 end) as {{ dbt.type_bigint() }}) as patients_with_conflicts
    from coverage
    group by collection_id
),

overall as (
    select
        '(all)' as collection_id,
        cast(sum(patients) as {{ dbt.type_bigint() }}) as patients,
        cast(sum(patients_with_imaging) as {{ dbt.type_bigint() }}) as patients_with_imaging,
        cast(sum(patients_with_clinical) as {{ dbt.type_bigint() }}) as patients_with_clinical,
        cast(sum(imaging_and_clinical) as {{ dbt.type_bigint() }}) as imaging_and_clinical,
        cast(sum(ct_mr_pt_and_clinical) as {{ dbt.type_bigint() }}) as ct_mr_pt_and_clinical,
        cast(sum(imaging_only) as {{ dbt.type_bigint() }}) as imaging_only,
        cast(sum(clinical_only) as {{ dbt.type_bigint() }}) as clinical_only,
        cast(sum(clinical_only_matching_other_collection) as {{ dbt.type_bigint() }}) as clinical_only_matching_other_collection,
        cast(sum(patients_with_duplicate_clinical_rows) as {{ dbt.type_bigint() }}) as patients_with_duplicate_clinical_rows,
        cast(sum(sex_conflicts) as {{ dbt.type_bigint() }}) as sex_conflicts,
        cast(sum(age_conflicts) as {{ dbt.type_bigint() }}) as age_conflicts,
        cast(sum(patients_with_conflicts) as {{ dbt.type_bigint() }}) as patients_with_conflicts
    from per_collection
),

unioned as (
    select * from per_collection
    union all
    select * from overall
),

final as (
    select
        *,
        {{ idc_qc.safe_divide('cast(imaging_only as ' ~ dbt.type_float() ~ ')', 'patients_with_imaging') }} as imaging_only_share,
        {{ idc_qc.safe_divide('cast(patients_with_conflicts as ' ~ dbt.type_float() ~ ')', 'imaging_and_clinical') }} as conflict_share
    from unioned
)

select * from final
