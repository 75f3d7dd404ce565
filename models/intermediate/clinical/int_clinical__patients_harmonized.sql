-- One row per (collection, patient) of the clinical tables: the patient's demographics
-- harmonized through the clinical_vocabulary seed, and how many clinical rows the patient
-- has. When a table lists a patient more than once the values come from its first row (the
-- lowest line of the registered file) and clinical_row_count says so: the duplicates are
-- kept, flagged in rpt_clinical_coverage, never silently merged. Rows without a patient ID
-- cannot be joined to images and are left out here (a local registration rejects them).

with clinical_rows as (
    select * from {{ ref('stg_clinical__demographics') }}
    where dicom_patient_id is not null and dicom_patient_id <> ''
),

vocabulary as (
    select * from {{ ref('clinical_vocabulary') }}
),

ranked as (
    select
        clinical_rows.*,
        row_number() over (
            partition by collection_id, dicom_patient_id
            order by clinical_row_number, clinical_table_name
        ) as row_rank,
        count(*) over (partition by collection_id, dicom_patient_id) as clinical_row_count,
        count(distinct clinical_table_name) over (partition by collection_id, dicom_patient_id) as clinical_table_count
    from clinical_rows
),

first_rows as (
    select * from ranked where row_rank = 1
),

harmonized as (
    select
        first_rows.collection_id,
        first_rows.dicom_patient_id,
        first_rows.clinical_table_name,
        first_rows.clinical_row_id,
        first_rows.clinical_row_count,
        first_rows.clinical_table_count,
        first_rows.sex_raw as clinical_sex_raw,
        case when {{ idc_qc.vocabulary_status('first_rows.sex_raw', 'sex_vocab') }} = 'valid' then sex_vocab.harmonized end as clinical_sex,
        {{ idc_qc.vocabulary_status('first_rows.sex_raw', 'sex_vocab') }} as clinical_sex_status,
        -- ages outside 0-130 years are not ages (a typo, a sentinel like 999)
        case when first_rows.age_years >= 0 and first_rows.age_years <= 130 then first_rows.age_years end as clinical_age_years,
        first_rows.age_column_kind as clinical_age_kind,
        first_rows.race_raw as clinical_race_raw,
        case when {{ idc_qc.vocabulary_status('first_rows.race_raw', 'race_vocab') }} = 'valid' then race_vocab.harmonized end as clinical_race,
        {{ idc_qc.vocabulary_status('first_rows.race_raw', 'race_vocab') }} as clinical_race_status,
        first_rows.ethnicity_raw as clinical_ethnicity_raw,
        case when {{ idc_qc.vocabulary_status('first_rows.ethnicity_raw', 'ethnicity_vocab') }} = 'valid' then ethnicity_vocab.harmonized end as clinical_ethnicity,
        {{ idc_qc.vocabulary_status('first_rows.ethnicity_raw', 'ethnicity_vocab') }} as clinical_ethnicity_status,
        first_rows.vital_status_raw as clinical_vital_status_raw,
        case when {{ idc_qc.vocabulary_status('first_rows.vital_status_raw', 'vital_vocab') }} = 'valid' then vital_vocab.harmonized end as clinical_vital_status,
        {{ idc_qc.vocabulary_status('first_rows.vital_status_raw', 'vital_vocab') }} as clinical_vital_status_status
    from first_rows
    left join vocabulary as sex_vocab
        on sex_vocab.concept = 'sex' and sex_vocab.value_key = {{ idc_qc.vocabulary_key('first_rows.sex_raw') }}
    left join vocabulary as race_vocab
        on race_vocab.concept = 'race' and race_vocab.value_key = {{ idc_qc.vocabulary_key('first_rows.race_raw') }}
    left join vocabulary as ethnicity_vocab
        on ethnicity_vocab.concept = 'ethnicity' and ethnicity_vocab.value_key = {{ idc_qc.vocabulary_key('first_rows.ethnicity_raw') }}
    left join vocabulary as vital_vocab
        on vital_vocab.concept = 'vital_status' and vital_vocab.value_key = {{ idc_qc.vocabulary_key('first_rows.vital_status_raw') }}
)

select * from harmonized
