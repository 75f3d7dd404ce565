-- One row per series and quality check it fails: what `idc-qc check` writes to
-- <db>.qc_failures.parquet and the curators' QC report lists, with the offending value, how
-- many instances of the series offend, one of them, and a link to look at the series.
--
-- Four kinds of checks, each an intermediate model, all pushed down so that the ~49M instance
-- rows are read by the engine, never by Python, and in one pass (int_series__values_grouped):
--   * DICOM value rules on every instance row: int_series__value_rules_failed
--     (macros/reporting/qc_instance_rules.sql; the geometry attributes from the geometry models).
--   * consistency: a series' instances agree on patient and study: int_series__consistency_failed.
--   * completeness: every input series reaches `series` and has a geometry verdict:
--     int_series__completeness_failed.
--   * geometry: each failure reason of a series whose category is a fault a curator fixes:
--     int_series__geometry_failed.
-- Here: their union, with the series' identity, a hint and a viewer link. rpt_qc_rule_counts
-- turns these rows into one row per check, which Great Expectations validates against the
-- thresholds (docs/quality.md).

with series as (
    select SeriesInstanceUID, PatientID, StudyInstanceUID, Modality, viewer_url
    from {{ ref('series') }}
),

vocabulary as (
    select label, curator_hint from {{ ref('geometry_reasons') }}
    where level = 'series'
),

unioned as (
    select * from {{ ref('int_series__value_rules_failed') }}
    union all
    select * from {{ ref('int_series__consistency_failed') }}
    union all
    select * from {{ ref('int_series__completeness_failed') }}
    union all
    select * from {{ ref('int_series__geometry_failed') }}
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
