-- One row per series and quality check it fails: what `idc-qc check` writes to
-- <db>.qc_failures.parquet and the curators' QC report lists, with the offending value, how
-- many instances of the series offend, one of them, and a link to look at the series.
--
-- Four kinds of checks, all pushed down here so that the ~49M instance rows are read by the
-- engine, never by Python:
--   * DICOM value rules on every instance row (macros/reporting/qc_instance_rules.sql: UIDs
--     well-formed, Modality and SOP Class UID in the known sets of the seeds, Age String,
--     PatientSex). One pass groups the instances by series and the values the rules read
--     (one group per series, as a rule), so each rule runs on ~400k groups, not 49M rows.
--     Positions, orientations, pixel spacing and matrix size were parsed by the geometry
--     models: their per-series counts (series_geometry) and written values
--     (instance_geometry) are reused, not parsed again.
--   * consistency: a series' instances agree on patient and study (min <> max per series).
--   * completeness: every input series reaches `series` and has a geometry verdict.
--   * geometry: each failure reason of a series whose category is a fault a curator fixes
--     (macro qc_failing_geometry_categories), with the numbers behind it.
-- rpt_qc_rule_counts turns these rows into one row per check, which Great Expectations
-- validates against the thresholds (docs/quality.md).

{%- set rules = idc_qc.qc_instance_rules() %}
{%- set failing_categories = "('" ~ idc_qc.qc_failing_geometry_categories() | join("', '") ~ "')" %}

with instances as (
    select * from {{ ref('stg_dicom__instances') }}
    -- rows without a series or instance UID are listed by unusable_instances instead
    where {{ idc_qc.geometry_usable_instance() }}
),

sop_classes as (
    select SOPClassUID from {{ ref('sop_classes') }}
),

modalities as (
    select Modality from {{ ref('dicom_modalities') }}
),

series as (
    select SeriesInstanceUID, PatientID, StudyInstanceUID, Modality, viewer_url
    from {{ ref('series') }}
),

series_geometry as (
    select * from {{ ref('series_geometry') }}
),

instance_geometry as (
    select SeriesInstanceUID, SOPInstanceUID, reason, ImagePositionPatient, ImageOrientationPatient, PixelSpacing
    from {{ ref('instance_geometry') }}
),

vocabulary as (
    select label, curator_hint from {{ ref('geometry_reasons') }}
    where level = 'series'
),

-- The one pass over the instance rows: one row per series and combination of the
-- attributes the value rules read (almost always one combination per series), with how many
-- instances carry it. Only SOPInstanceUID differs on every row: its rule is evaluated here,
-- per row; every other rule below runs on these few hundred thousand rows, not on 49M.
combinations as (
    select
        SeriesInstanceUID,
        StudyInstanceUID,
        PatientID,
        collection_id,
        Modality,
        SOPClassUID,
        PatientAge,
        PatientSex,
        count(*) as instance_count,
        count(case when {{ idc_qc.qc_uid_invalid('SOPInstanceUID') }} then 1 end) as bad_sop_uid_count,
        min(case when {{ idc_qc.qc_uid_invalid('SOPInstanceUID') }} then SOPInstanceUID end) as bad_sop_uid,
        min(SOPInstanceUID) as sample_SOPInstanceUID
    from instances
    group by SeriesInstanceUID, StudyInstanceUID, PatientID, collection_id, Modality, SOPClassUID, PatientAge, PatientSex
),

checked as {{ idc_qc.materialized_cte() }} (
    select
        combinations.*,
        sop_classes.SOPClassUID is not null as known_sop_class,
        modalities.Modality is not null as known_modality
    from combinations
    left join sop_classes
        on combinations.SOPClassUID = sop_classes.SOPClassUID
    left join modalities
        on trim(combinations.Modality) = modalities.Modality
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

-- one row per input series: who and what its instances say
identities as (
    select
        SeriesInstanceUID,
        min(collection_id) as collection_id,
        min(PatientID) as min_patient,
        max(PatientID) as max_patient,
        min(StudyInstanceUID) as min_study,
        max(StudyInstanceUID) as max_study
    from checked
    group by SeriesInstanceUID
),

consistency_failures as (
    select
        'instances' as suite,
        'series instances agree on PatientID' as check_name,
        'PatientID' as attribute,
        'inconsistent' as error_kind,
        SeriesInstanceUID,
        collection_id,
        {{ dbt.concat(['min_patient', "' vs '", 'max_patient']) }} as observed,
        cast(null as {{ dbt.type_bigint() }}) as failing_instance_count,
        cast(null as {{ dbt.type_string() }}) as sample_SOPInstanceUID
    from identities
    where min_patient <> max_patient
    union all
    select
        'instances', 'series instances agree on StudyInstanceUID', 'StudyInstanceUID', 'inconsistent',
        SeriesInstanceUID, collection_id,
        {{ dbt.concat(['min_study', "' vs '", 'max_study']) }},
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ dbt.type_string() }})
    from identities
    where min_study <> max_study
),

completeness_failures as (
    select
        'completeness' as suite,
        'input series present in series' as check_name,
        'SeriesInstanceUID' as attribute,
        'missing' as error_kind,
        identities.SeriesInstanceUID,
        identities.collection_id,
        'not in series' as observed,
        cast(null as {{ dbt.type_bigint() }}) as failing_instance_count,
        cast(null as {{ dbt.type_string() }}) as sample_SOPInstanceUID
    from identities
    left join series
        on identities.SeriesInstanceUID = series.SeriesInstanceUID
    where series.SeriesInstanceUID is null
    union all
    select
        'completeness', 'input series has a geometry verdict', 'geometry_category', 'missing',
        identities.SeriesInstanceUID, identities.collection_id,
        case when series_geometry.SeriesInstanceUID is null then 'not in series_geometry' else 'geometry_category is NULL' end,
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ dbt.type_string() }})
    from identities
    left join series_geometry
        on identities.SeriesInstanceUID = series_geometry.SeriesInstanceUID
    where series_geometry.geometry_category is null
),

offending_instances as (
    select
        SeriesInstanceUID,
        count(distinct SOPInstanceUID) as offending_instance_count,
        min(SOPInstanceUID) as sample_SOPInstanceUID
    from instance_geometry
    group by SeriesInstanceUID
),

geometry_reasons as (
    select
        series_geometry.*,
        reason
    from series_geometry
    {{ idc_qc.cross_join_unnest('series_geometry.failure_reasons', 'reason') }}
    where series_geometry.geometry_category in {{ failing_categories }}
),

-- the numbers behind each reason (macro geometry_reason_evidence), as text
geometry_failures as (
    select
        'geometry' as suite,
        {{ dbt.concat(["'geometry: '", 'reason']) }} as check_name,
        'geometry_category' as attribute,
        geometry_category as error_kind,
        geometry_reasons.SeriesInstanceUID,
        collection_id,
        {{ idc_qc.geometry_reason_evidence('reason', 'geometry_reasons.') }} as observed,
        offending_instances.offending_instance_count as failing_instance_count,
        offending_instances.sample_SOPInstanceUID
    from geometry_reasons
    left join offending_instances
        on geometry_reasons.SeriesInstanceUID = offending_instances.SeriesInstanceUID
),

unioned as (
    select * from value_failures
    union all
    select * from geometry_value_failures
    union all
    select * from consistency_failures
    union all
    select * from completeness_failures
    union all
    select * from geometry_failures
),

final as (
    select
        unioned.suite,
        unioned.check_name,
        unioned.attribute,
        unioned.error_kind,
        unioned.collection_id,
        series.PatientID,
        series.StudyInstanceUID,
        unioned.SeriesInstanceUID,
        series.Modality,
        unioned.observed,
        unioned.failing_instance_count,
        unioned.sample_SOPInstanceUID,
        coalesce(vocabulary.curator_hint, case when unioned.check_name = 'SOPClassUID: value not allowed'
            then 'Not a SOP class of seeds/sop_classes.csv (the classes IDC holds): a retired or private class, or a standard one the seed lacks.'
        end, case unioned.error_kind
            when 'invalid value' then {{ dbt.concat(["'The value as written does not follow the DICOM value representation of '", 'unioned.attribute', "': fix the export or the header.'"]) }}
            when 'value not allowed' then {{ dbt.concat(["'The value is not one DICOM allows for '", 'unioned.attribute', "' (enumerated values or defined terms): map it to the standard term.'"]) }}
            when 'missing' then {{ dbt.concat(['unioned.attribute', "' is absent where it is required: re-extract the header or find where the row was lost.'"]) }}
            when 'empty' then {{ dbt.concat(['unioned.attribute', "' is present but empty; it is Type 1 (a value is required): fill it in the export.'"]) }}
            when 'inconsistent' then {{ dbt.concat(["'Instances of one series disagree on '", 'unioned.attribute', "': files of two patients or studies share a SeriesInstanceUID.'"]) }}
        end) as hint,
        series.viewer_url
    from unioned
    left join series
        on unioned.SeriesInstanceUID = series.SeriesInstanceUID
    left join vocabulary
        on unioned.suite = 'geometry'
        and unioned.check_name = {{ dbt.concat(["'geometry: '", 'vocabulary.label']) }}
)

select * from final
