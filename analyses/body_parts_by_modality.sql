-- Body parts examined by modality (IDC tutorials: explore BodyPartExamined before subsetting),
-- with series whose BodyPartExamined is absent counted as 'not recorded', not dropped.

with series as (
    select * from {{ ref('series') }}
),

final as (
    select
        coalesce(Modality, 'unknown') as Modality,
        coalesce(nullif(body_part_examined, ''), 'not recorded') as body_part_examined,
        count(*) as series_count,
        count(distinct PatientID) as patient_count
    from series
    group by coalesce(Modality, 'unknown'), coalesce(nullif(body_part_examined, ''), 'not recorded')
)

select * from final
order by Modality, series_count desc
