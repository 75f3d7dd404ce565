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

-- `--sets converters`: one boolean per converter, true when it does not simply assemble the series
converters as (
    select
        SeriesInstanceUID,
        {%- for tool in ['highdicom', 'dcm2niix', 'dicom2nifti', 'SimpleITK'] %}
        max(case when converter = '{{ tool }}' and outcome_kind <> 'assembles' then 1 else 0 end) = 1 as converter_{{ tool | lower }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('series_converters') }}
    group by SeriesInstanceUID
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
        series.patient_age_years,
        {%- for tool in ['highdicom', 'dcm2niix', 'dicom2nifti', 'simpleitk'] %}
        converters.converter_{{ tool }}{{ ',' if not loop.last }}
        {%- endfor %}
    from failure_sets
    left join series
        on failure_sets.SeriesInstanceUID = series.SeriesInstanceUID
    left join converters
        on failure_sets.SeriesInstanceUID = converters.SeriesInstanceUID
)

select * from final
