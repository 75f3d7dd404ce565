-- One row per (collection, PatientID) with imaging: what the DICOM headers of the patient's
-- series say about them, from the harmonized `series` mart (every series of the input, and
-- of IDC's index with series_scope = index). A patient's series can disagree: dicom_sex is
-- kept only when every series with a valid PatientSex says the same (dicom_sex_values counts
-- the distinct values); dicom_age_years is the youngest valid PatientAge (age at the first
-- imaging, as far as the headers tell).

with series as (
    select * from {{ ref('series') }}
    where PatientID is not null and PatientID <> '' and collection_id is not null
),

patient_modalities as (
    select distinct collection_id, PatientID, Modality
    from series
    where Modality is not null
),

modality_lists as (
    select
        collection_id,
        PatientID,
        {{ dbt.listagg('Modality', "','", 'order by Modality') }} as modalities
    from patient_modalities
    group by collection_id, PatientID
),

aggregated as (
    select
        collection_id,
        PatientID,
        count(*) as series_count,
        cast(sum(case when Modality in ('CT', 'MR', 'PT') then 1 else 0 end) as {{ dbt.type_bigint() }}) as ct_mr_pt_series_count,
        count(distinct patient_sex) as dicom_sex_values,
        min(patient_sex) as any_dicom_sex,
        min(case when patient_age_status = 'valid' then patient_age_years end) as dicom_age_years
    from series
    group by collection_id, PatientID
),

final as (
    select
        aggregated.collection_id,
        aggregated.PatientID,
        aggregated.series_count,
        aggregated.ct_mr_pt_series_count,
        modality_lists.modalities,
        case when aggregated.dicom_sex_values = 1 then aggregated.any_dicom_sex end as dicom_sex_code,
        aggregated.dicom_sex_values,
        aggregated.dicom_age_years
    from aggregated
    left join modality_lists
        on aggregated.collection_id = modality_lists.collection_id
        and aggregated.PatientID = modality_lists.PatientID
)

select * from final
