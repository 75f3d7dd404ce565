-- How many series a patient has, per collection (IDC tutorials: "how many patients, studies
-- and series does a collection hold?"): the distribution as patients per series count.

with series as (
    select * from {{ ref('series') }}
),

per_patient as (
    select
        collection_id,
        PatientID,
        count(*) as series_count,
        count(distinct StudyInstanceUID) as study_count
    from series
    where PatientID is not null
    group by collection_id, PatientID
),

final as (
    select
        collection_id,
        series_count,
        count(*) as patients,
        avg(study_count) as mean_studies
    from per_patient
    group by collection_id, series_count
)

select * from final
order by collection_id, series_count
