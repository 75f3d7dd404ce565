-- Patients with imaging, clinical data, or both: one row per (collection, patient). The
-- demographics the DICOM headers give and those the clinical tables give sit side by side,
-- with the value used (sex, age_years, race, ethnicity, vital_status), where it came from
-- (*_source) and the conflicts flagged.
--
-- Precedence: sex, race, ethnicity and vital status from the clinical data when it has a
-- valid value (curated, and DICOM has no race, ethnicity or vital status), else DICOM; age
-- from DICOM PatientAge when valid (it is the age at imaging), else the clinical age (often
-- the age at diagnosis: TCGA's). Conflicts: sex_conflict when both sides have a valid sex and
-- they differ; age_conflict when both have an age more than var clinical_age_tolerance_years
-- apart. The *_category and age_group_* columns are what the bias analysis counts: missing
-- is the category 'Not reported', values the vocabulary does not know are 'Unmapped'.

{%- set tolerance = var('clinical_age_tolerance_years') %}

with imaging as (
    select * from {{ ref('int_patients__imaging_aggregated') }}
),

clinical as (
    select * from {{ ref('int_clinical__patients_harmonized') }}
),

vocabulary as (
    select * from {{ ref('clinical_vocabulary') }}
),

age_groups as (
    select * from {{ ref('bias_age_groups') }}
),

joined as (
    select
        coalesce(imaging.collection_id, clinical.collection_id) as collection_id,
        coalesce(imaging.PatientID, clinical.dicom_patient_id) as patient_id,
        imaging.PatientID is not null as has_imaging,
        clinical.dicom_patient_id is not null as has_clinical,
        coalesce(imaging.series_count, 0) as series_count,
        coalesce(imaging.ct_mr_pt_series_count, 0) as ct_mr_pt_series_count,
        imaging.modalities,
        clinical.clinical_table_name,
        coalesce(clinical.clinical_row_count, 0) as clinical_row_count,
        dicom_sex_vocab.harmonized as dicom_sex,
        coalesce(imaging.dicom_sex_values, 0) as dicom_sex_values,
        imaging.dicom_age_years,
        clinical.clinical_sex,
        clinical.clinical_sex_raw,
        clinical.clinical_sex_status,
        clinical.clinical_age_years,
        clinical.clinical_age_kind,
        clinical.clinical_race,
        clinical.clinical_race_raw,
        clinical.clinical_race_status,
        clinical.clinical_ethnicity,
        clinical.clinical_ethnicity_raw,
        clinical.clinical_ethnicity_status,
        clinical.clinical_vital_status,
        clinical.clinical_vital_status_raw,
        clinical.clinical_vital_status_status
    from imaging
    full outer join clinical
        on imaging.collection_id = clinical.collection_id
        and imaging.PatientID = clinical.dicom_patient_id
    left join vocabulary as dicom_sex_vocab
        on dicom_sex_vocab.concept = 'sex'
        and dicom_sex_vocab.value_key = {{ idc_qc.vocabulary_key('imaging.dicom_sex_code') }}
        and not dicom_sex_vocab.is_missing
),

chosen as (
    select
        joined.*,
        coalesce(clinical_sex, dicom_sex) as sex,
        case when clinical_sex is not null then 'clinical' when dicom_sex is not null then 'dicom' else 'none' end as sex_source,
        coalesce(clinical_sex is not null and dicom_sex is not null and clinical_sex <> dicom_sex, false) as sex_conflict,
        coalesce(dicom_age_years, clinical_age_years) as age_years,
        case when dicom_age_years is not null then 'dicom' when clinical_age_years is not null then 'clinical' else 'none' end as age_source,
        dicom_age_years - clinical_age_years as age_difference_years,
        coalesce(abs(dicom_age_years - clinical_age_years) > {{ tolerance }}, false) as age_conflict,
        clinical_race as race,
        case when clinical_race is not null then 'clinical' else 'none' end as race_source,
        clinical_ethnicity as ethnicity,
        case when clinical_ethnicity is not null then 'clinical' else 'none' end as ethnicity_source,
        clinical_vital_status as vital_status,
        case when clinical_vital_status is not null then 'clinical' else 'none' end as vital_status_source
    from joined
),

final as (
    select
        {{ dbt.concat(["chosen.collection_id", "'/'", "chosen.patient_id"]) }} as patient_key,
        chosen.*,
        coalesce(sex, case when clinical_sex_status = 'unmapped' then 'Unmapped' else 'Not reported' end) as sex_category,
        coalesce(race, case when clinical_race_status = 'unmapped' then 'Unmapped' else 'Not reported' end) as race_category,
        coalesce(ethnicity, case when clinical_ethnicity_status = 'unmapped' then 'Unmapped' else 'Not reported' end) as ethnicity_category,
        coalesce(census_age.age_group, 'Not reported') as age_group_census,
        coalesce(midrc_age.age_group, 'Not reported') as age_group_midrc
    from chosen
    left join age_groups as census_age
        on census_age.scheme = 'census'
        and chosen.age_years >= census_age.min_years
        and (census_age.max_years is null or chosen.age_years < census_age.max_years)
    left join age_groups as midrc_age
        on midrc_age.scheme = 'midrc'
        and chosen.age_years >= midrc_age.min_years
        and (midrc_age.max_years is null or chosen.age_years < midrc_age.max_years)
)

select * from final
