-- The input of `idc-qc upset`: rpt_geometry_failure_sets (one boolean per IDC check and per
-- failure reason, per series) with the series attributes a selection filters on (releases,
-- body part, patient, study). A view: it adds no storage, and the UpSet command aggregates
-- it in SQL (group by the booleans), so the plot reads counts per combination, never a row
-- per series. `--where` conditions are written against these columns.

{{ config(materialized='view') }}

with failure_sets as (
    select * from {{ ref('rpt_geometry_failure_sets') }}
),

series as (
    select * from {{ ref('series') }}
),

final as (
    select
        failure_sets.*,
        series.PatientID,
        series.StudyInstanceUID,
        series.body_part_examined,
        series.first_idc_release,
        series.last_idc_release,
        series.patient_sex,
        series.patient_age_years
    from failure_sets
    left join series
        on failure_sets.SeriesInstanceUID = series.SeriesInstanceUID
)

select * from final
