-- Coverage of the clinical data, one row per (collection, patient) of every collection that
-- has clinical data, classified so that a check or a report reads one column:
--   coverage_status: imaging_and_clinical | imaging_only (images, no clinical row) |
--                    clinical_only (a clinical row, no images in that collection)
--   has_duplicate_clinical_rows: the patient has more than one clinical row
--   matches_only_in_other_collection: clinical_only, and the same patient ID has images in
--                    another collection (other_collections_with_imaging lists them): a
--                    registration that put the row in the wrong collection, or an ID reused
-- Collections without any clinical data are left out (every patient there is imaging_only
-- by construction; rpt_clinical_coverage_summary does not list them either).

with patients as (
    select * from {{ ref('patient_clinical') }}
),

clinical_collections as (
    select distinct collection_id from patients where has_clinical
),

elsewhere_pairs as (
    select distinct
        here.collection_id,
        here.patient_id,
        there.collection_id as other_collection_id
    from patients as here
    inner join patients as there
        on here.patient_id = there.patient_id
        and here.collection_id <> there.collection_id
        and there.has_imaging
    where here.has_clinical
),

elsewhere as (
    select
        collection_id,
        patient_id,
        {{ dbt.listagg('other_collection_id', "','", 'order by other_collection_id') }} as other_collections_with_imaging
    from elsewhere_pairs
    group by collection_id, patient_id
),

final as (
    select
        patients.patient_key,
        patients.collection_id,
        patients.patient_id,
        patients.has_imaging,
        patients.has_clinical,
        case
            when patients.has_imaging and patients.has_clinical then 'imaging_and_clinical'
            when patients.has_imaging then 'imaging_only'
            else 'clinical_only'
        end as coverage_status,
        patients.clinical_row_count,
        patients.clinical_row_count > 1 as has_duplicate_clinical_rows,
        elsewhere.other_collections_with_imaging,
        (not patients.has_imaging and elsewhere.other_collections_with_imaging is not null) as matches_only_in_other_collection,
        patients.series_count,
        patients.ct_mr_pt_series_count,
        patients.sex_conflict,
        patients.age_conflict
    from patients
    inner join clinical_collections
        on patients.collection_id = clinical_collections.collection_id
    left join elsewhere
        on patients.collection_id = elsewhere.collection_id
        and patients.patient_id = elsewhere.patient_id
)

select * from final
