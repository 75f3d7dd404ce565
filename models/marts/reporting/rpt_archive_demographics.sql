-- Patients by sex and by age group, per collection, with what is unknown shown as its own
-- category ('missing', 'malformed', ...: the status columns of `series`), not dropped.
-- A patient is one (collection_id, PatientID). Sex: the one value the patient's series
-- agree on, 'conflicting' when they disagree, else the commonest status of a bad value.
-- Age group: from the youngest valid PatientAge over the patient's series (age at first
-- imaging in the archive); a patient with no valid age takes the status of their values.

with series as (
    select * from {{ ref('series') }}
),

per_patient as (
    select
        coalesce(collection_id, 'unknown') as collection_id,
        PatientID,
        count(distinct patient_sex) as sex_values,
        max(patient_sex) as patient_sex,
        max(case when patient_sex_status <> 'valid' then patient_sex_status end) as sex_problem,
        min(patient_age_years) as age_years,
        max(case when patient_age_status <> 'valid' then patient_age_status end) as age_problem,
        count(*) as series_count
    from series
    where PatientID is not null
    group by coalesce(collection_id, 'unknown'), PatientID
),

categorized as (
    select
        collection_id,
        series_count,
        case
            when sex_values > 1 then 'conflicting'
            when sex_values = 1 then patient_sex
            else coalesce(sex_problem, 'missing')
        end as sex,
        case
            when age_years is null then coalesce(age_problem, 'missing')
            when age_years < 18 then '0-17'
            when age_years < 30 then '18-29'
            when age_years < 40 then '30-39'
            when age_years < 50 then '40-49'
            when age_years < 60 then '50-59'
            when age_years < 70 then '60-69'
            when age_years < 80 then '70-79'
            else '80+'
        end as age_group
    from per_patient
),

unioned as (
    select 'sex' as attribute, sex as category, collection_id, series_count from categorized
    union all
    select 'age_group' as attribute, age_group as category, collection_id, series_count from categorized
),

final as (
    select
        attribute,
        category,
        collection_id,
        category in ('missing', 'malformed', 'implausible', 'conflicting') as is_unknown,
        count(*) as patient_count,
        cast(sum(series_count) as {{ dbt.type_bigint() }}) as series_count
    from unioned
    group by attribute, category, collection_id
)

select * from final
