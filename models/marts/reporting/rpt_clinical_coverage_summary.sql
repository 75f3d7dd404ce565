-- Coverage counts per collection with clinical data, and one row '(all)' over them: what
-- `idc-qc clinical coverage` prints and the curators' report shows. Patients are counted
-- once per collection (a patient in two collections counts in each).

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
        cast(sum(case when age_conflict then 1 else 0 end) as {{ dbt.type_bigint() }}) as age_conflicts
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
        cast(sum(age_conflicts) as {{ dbt.type_bigint() }}) as age_conflicts
    from per_collection
),

final as (
    select * from per_collection
    union all
    select * from overall
)

select * from final
