-- Coverage counts per collection with clinical data, and one row '(all)' over them: what
-- `idc-qc clinical coverage` prints and the curators' report shows. Patients are counted
-- once per collection (a patient in two collections counts in each).

with coverage as (
    select * from {{ ref('rpt_clinical_coverage') }}
),

per_collection as (
    select
        collection_id,
        count(*) as patients,
        sum(case when has_imaging then 1 else 0 end) as patients_with_imaging,
        sum(case when has_clinical then 1 else 0 end) as patients_with_clinical,
        sum(case when coverage_status = 'imaging_and_clinical' then 1 else 0 end) as imaging_and_clinical,
        sum(case when coverage_status = 'imaging_and_clinical' and ct_mr_pt_series_count > 0 then 1 else 0 end) as ct_mr_pt_and_clinical,
        sum(case when coverage_status = 'imaging_only' then 1 else 0 end) as imaging_only,
        sum(case when coverage_status = 'clinical_only' then 1 else 0 end) as clinical_only,
        sum(case when matches_only_in_other_collection then 1 else 0 end) as clinical_only_matching_other_collection,
        sum(case when has_duplicate_clinical_rows then 1 else 0 end) as patients_with_duplicate_clinical_rows,
        sum(case when sex_conflict then 1 else 0 end) as sex_conflicts,
        sum(case when age_conflict then 1 else 0 end) as age_conflicts
    from coverage
    group by collection_id
),

overall as (
    select
        '(all)' as collection_id,
        sum(patients) as patients,
        sum(patients_with_imaging) as patients_with_imaging,
        sum(patients_with_clinical) as patients_with_clinical,
        sum(imaging_and_clinical) as imaging_and_clinical,
        sum(ct_mr_pt_and_clinical) as ct_mr_pt_and_clinical,
        sum(imaging_only) as imaging_only,
        sum(clinical_only) as clinical_only,
        sum(clinical_only_matching_other_collection) as clinical_only_matching_other_collection,
        sum(patients_with_duplicate_clinical_rows) as patients_with_duplicate_clinical_rows,
        sum(sex_conflicts) as sex_conflicts,
        sum(age_conflicts) as age_conflicts
    from per_collection
),

final as (
    select * from per_collection
    union all
    select * from overall
)

select * from final
