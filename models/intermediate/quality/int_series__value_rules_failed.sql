-- One row per series and DICOM value rule it fails: the rules of
-- macros/reporting/qc_instance_rules.sql on the value combinations of the series
-- (int_series__values_grouped: UIDs well-formed, Modality and SOP Class UID in the known sets of
-- the seeds, Age String, PatientSex), and SOPInstanceUID checked per row there. Positions,
-- orientations, pixel spacing and matrix size were parsed by the geometry models: their
-- per-series counts (series_geometry) and written values (instance_geometry) are reused, not
-- parsed again. Read by rpt_qc_failures.

{%- set rules = idc_qc.qc_instance_rules() %}

with checked as (
    select * from {{ ref('int_series__values_grouped') }}
),

series_geometry as (
    select * from {{ ref('series_geometry') }}
),

instance_geometry as (
    select SeriesInstanceUID, SOPInstanceUID, reason, ImagePositionPatient, ImageOrientationPatient, PixelSpacing
    from {{ ref('instance_geometry') }}
),

value_failures as (
    select
        'instances' as suite,
        'SOPInstanceUID: invalid value' as check_name,
        'SOPInstanceUID' as attribute,
        'invalid value' as error_kind,
        SeriesInstanceUID,
        min(collection_id) as collection_id,
        min(bad_sop_uid) as observed,
        cast(sum(bad_sop_uid_count) as {{ dbt.type_bigint() }}) as failing_instance_count,
        min(bad_sop_uid) as sample_SOPInstanceUID
    from checked
    where bad_sop_uid_count > 0
    group by SeriesInstanceUID
    {%- for rule in rules %}
    union all
    select
        'instances',
        '{{ rule.check_name }}',
        '{{ rule.attribute }}',
        '{{ rule.error_kind }}',
        SeriesInstanceUID,
        min(collection_id),
        -- two of the offending values (the smallest and the largest) when they differ
        case when min({{ rule.observed }}) = max({{ rule.observed }}) then min({{ rule.observed }})
            else {{ dbt.concat(['min(' ~ rule.observed ~ ')', "' ... '", 'max(' ~ rule.observed ~ ')']) }} end,
        cast(sum(instance_count) as {{ dbt.type_bigint() }}),
        min(sample_SOPInstanceUID)
    from checked
    where coalesce({{ rule.condition }}, false)
    group by SeriesInstanceUID
    {%- endfor %}
),

-- The geometry attributes were parsed once, by the geometry models: their counts per series
-- (series_geometry, among the volumetric instances) and the values as written
-- (instance_geometry) are read here instead of parsing 49M positions a second time.
geometry_values as (
    select
        SeriesInstanceUID,
        reason,
        min({{ dbt.concat(["coalesce(" ~ idc_qc.array_join('ImagePositionPatient', "'|'") ~ ", '(null)')"]) }}) as ipp_written,
        min({{ dbt.concat(["coalesce(" ~ idc_qc.array_join('ImageOrientationPatient', "'|'") ~ ", '(null)')"]) }}) as iop_written,
        min({{ dbt.concat(["coalesce(" ~ idc_qc.array_join('PixelSpacing', "'|'") ~ ", '(null)')"]) }}) as pixel_spacing_written,
        min(SOPInstanceUID) as sample_SOPInstanceUID
    from instance_geometry
    where reason in ('missing ImagePositionPatient', 'malformed ImagePositionPatient',
        'missing ImageOrientationPatient', 'malformed ImageOrientationPatient',
        'missing PixelSpacing', 'malformed PixelSpacing', 'malformed Rows or Columns')
    group by SeriesInstanceUID, reason
),

geometry_value_failures as (
    {%- for attr, prefix, written in [('ImagePositionPatient', 'ipp', 'ipp_written'), ('ImageOrientationPatient', 'iop', 'iop_written'), ('PixelSpacing', 'pixel_spacing', 'pixel_spacing_written')] %}
    {%- for kind, column in [('missing', prefix ~ '_missing_count'), ('invalid value', prefix ~ '_malformed_count')] %}
    select
        'instances' as suite,
        '{{ attr }}: {{ kind }}' as check_name,
        '{{ attr }}' as attribute,
        '{{ kind }}' as error_kind,
        series_geometry.SeriesInstanceUID,
        series_geometry.collection_id,
        coalesce(geometry_values.{{ written }}, '{{ '(null)' if kind == 'missing' else column }}') as observed,
        cast(series_geometry.{{ column }} as {{ dbt.type_bigint() }}) as failing_instance_count,
        geometry_values.sample_SOPInstanceUID
    from series_geometry
    left join geometry_values
        on series_geometry.SeriesInstanceUID = geometry_values.SeriesInstanceUID
        and geometry_values.reason = '{{ 'missing' if kind == 'missing' else 'malformed' }} {{ attr }}'
    where series_geometry.{{ column }} > 0
        {%- if kind == 'missing' %}
        -- a series without any position (SR, SEG, ...) is no image stack: nothing is missing
        and series_geometry.geometry_category <> 'missing_geometry'
        {%- endif %}
    union all
    {%- endfor %}
    {%- endfor %}
    select
        'instances',
        'Rows or Columns: invalid value',
        'Rows',
        'invalid value',
        series_geometry.SeriesInstanceUID,
        series_geometry.collection_id,
        {{ dbt.concat(["'dimensions_malformed_count='", dbt.safe_cast('series_geometry.dimensions_malformed_count', dbt.type_string())]) }},
        cast(series_geometry.dimensions_malformed_count as {{ dbt.type_bigint() }}),
        geometry_values.sample_SOPInstanceUID
    from series_geometry
    left join geometry_values
        on series_geometry.SeriesInstanceUID = geometry_values.SeriesInstanceUID
        and geometry_values.reason = 'malformed Rows or Columns'
    where series_geometry.dimensions_malformed_count > 0
),

final as (
    select * from value_failures
    union all
    select * from geometry_value_failures
)

select * from final
