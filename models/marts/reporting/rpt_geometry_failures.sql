-- One row per series that is not a regular volume, with what a curator needs to find and
-- fix it: where it is (collection, patient, study, series, viewer link), why (reasons, the
-- IDC checks it fails, the numbers behind them) and what to look at (the hints of its
-- reasons from seeds/geometry_reasons.csv, and how many instances instance_geometry lists).

{%- set failed_checks = [] %}
{%- for check in idc_qc.idc_geometry_checks() %}
    {%- do failed_checks.append("case when not failing." ~ check ~ " then '" ~ check ~ "' end") %}
{%- endfor %}

with series_geometry as (
    select * from {{ ref('series_geometry') }}
),

instance_geometry as (
    select * from {{ ref('instance_geometry') }}
),

series as (
    select * from {{ ref('series') }}
),

vocabulary as (
    select * from {{ ref('geometry_reasons') }}
),

-- what each converter will do with the series (series_converters, docs/converters.md)
converters as (
    select
        SeriesInstanceUID,
        {%- for tool in ['highdicom', 'dcm2niix', 'dicom2nifti', 'SimpleITK'] %}
        max(case when converter = '{{ tool }}' then outcome end) as {{ tool | lower }}_outcome{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('series_converters') }}
    group by SeriesInstanceUID
),

failing as (
    select * from series_geometry
    where geometry_category <> 'regular_volume'
),

-- '<reason>: <hint>' for each reason of the series, sorted
hints as (
    select
        failing.SeriesInstanceUID,
        {{ idc_qc.array_agg_sorted(dbt.concat(['vocabulary.label', "': '", 'vocabulary.curator_hint'])) }} as curator_hints
    from failing
    {{ idc_qc.cross_join_unnest('failing.failure_reasons', 'reason') }}
    inner join vocabulary
        on vocabulary.level = 'series'
        and vocabulary.label = reason
    group by failing.SeriesInstanceUID
),

-- '<reason>: <the numbers that show it>' for each reason of the series (macro
-- geometry_reason_evidence), sorted as the hints are
evidence as (
    select
        failing.SeriesInstanceUID,
        {{ idc_qc.array_agg_sorted(dbt.concat(['reason', "': '", idc_qc.geometry_reason_evidence('reason', 'failing.')])) }} as evidence
    from failing
    {{ idc_qc.cross_join_unnest('failing.failure_reasons', 'reason') }}
    group by failing.SeriesInstanceUID
),

offending_instances as (
    select
        SeriesInstanceUID,
        count(distinct SOPInstanceUID) as offending_instance_count
    from instance_geometry
    group by SeriesInstanceUID
),

final as (
    select
        failing.collection_id,
        failing.PatientID,
        failing.StudyInstanceUID,
        failing.SeriesInstanceUID,
        failing.Modality,
        -- 'unknown' when absent or a placeholder, as in every rpt_* count (so a filter
        -- or a group by on manufacturer finds those series too)
        coalesce(series.manufacturer_harmonized, 'unknown') as manufacturer,
        failing.SeriesDescription,
        failing.geometry_category,
        failing.failure_reasons,
        {{ idc_qc.array_compact('[' ~ failed_checks | join(', ') ~ ']') }} as idc_failed_checks,
        evidence.evidence,
        hints.curator_hints,
        category.curator_hint as category_hint,
        coalesce(offending_instances.offending_instance_count, 0) as offending_instance_count,
        failing.viewer_url,

        -- the numbers behind the reasons (docs/geometry.md says which number explains which reason)
        failing.instance_count,
        failing.volumetric_instance_count,
        failing.localizer_instance_count,
        failing.projection_instance_count,
        failing.distinct_position_count,
        failing.duplicate_position_count,
        failing.stack_count,
        failing.stack_attributes,
        failing.missing_slice_count,
        failing.nominal_slice_spacing_mm,
        failing.largest_gap_mm,
        failing.largest_gap_ratio,
        failing.smallest_gap_mm,
        failing.smallest_gap_ratio,
        failing.distinct_spacing_count,
        failing.in_plane_row_range_mm,
        failing.in_plane_col_range_mm,
        failing.orientation_count,
        failing.row_column_angle_degrees,
        failing.smallest_pixel_spacing,
        failing.largest_pixel_spacing,
        failing.min_rows,
        failing.max_rows,
        failing.min_columns,
        failing.max_columns,
        failing.estimated_gantry_tilt_degrees,
        failing.GantryDetectorTilt,
        failing.ipp_missing_count,
        failing.ipp_malformed_count,
        failing.iop_missing_count,
        failing.iop_malformed_count,
        failing.pixel_spacing_missing_count,
        failing.pixel_spacing_malformed_count,

        -- will the curator's or researcher's tool load it (series_converters)
        converters.highdicom_outcome,
        converters.dcm2niix_outcome,
        converters.dicom2nifti_outcome,
        converters.simpleitk_outcome
    from failing
    left join series
        on failing.SeriesInstanceUID = series.SeriesInstanceUID
    left join hints
        on failing.SeriesInstanceUID = hints.SeriesInstanceUID
    left join evidence
        on failing.SeriesInstanceUID = evidence.SeriesInstanceUID
    left join vocabulary as category
        on category.level = 'category'
        and category.label = failing.geometry_category
    left join offending_instances
        on failing.SeriesInstanceUID = offending_instances.SeriesInstanceUID
    left join converters
        on failing.SeriesInstanceUID = converters.SeriesInstanceUID
)

select * from final
