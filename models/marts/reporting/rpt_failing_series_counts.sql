-- How many series fail, under each definition a report counts, and how the definitions
-- relate: the one home of every "N series fail" a page shows (report, UpSet, summary,
-- dashboard), so no two outputs count "broken" differently. Per collection and for all
-- collections ('(all)').
--
-- Definitions (definition, then its parts; a definition's parts add up to its 'total'):
--   not_regular_volume   geometry_category is not regular_volume (every such series carries at
--                        least one failure reason of seeds/geometry_reasons.csv): the geometry
--                        summary, the worklist (rpt_geometry_failures).
--       fails_idc_checks       ... and fails at least one of IDC's eight volume_geometry_index checks
--       <geometry_category>    ... and passes every IDC check (e.g. too_few_slices, single_instance)
--   fails_idc_checks     at least one of IDC's eight checks is FALSE: the UpSet plot (Figure 5).
--       not_regular_volume     ... and is not a regular volume
--       regular_volume         ... yet regular (IDC compares written strings: note_idc_string_comparison_only)
--   has_failure_reason   failure_reasons is not empty (our reasons).
--   fails_qc_rules       at least one failing row in rpt_qc_failures (what `idc-qc check` writes and
--                        the QC report lists: geometry faults, DICOM value rules, consistency).
--       fails_idc_checks       ... and fails an IDC check
--       other_rules            ... and passes every IDC check (a DICOM value, a consistency rule, ...)

with failure_sets as (
    select * from {{ ref('rpt_geometry_failure_sets') }}
),

qc_failures as (
    select * from {{ ref('rpt_qc_failures') }}
),

flagged as (
    select
        SeriesInstanceUID,
        coalesce(collection_id, 'unknown') as collection_id,
        geometry_category,
        geometry_category <> 'regular_volume' as not_regular,
        ({%- for check in idc_qc.idc_geometry_checks() %}fails_{{ check }}{{ ' or ' if not loop.last }}{% endfor -%}) as fails_idc,
        coalesce({{ idc_qc.array_length('failure_reasons') }}, 0) > 0 as has_reason
    from failure_sets
),

qc_series as (
    select
        qc_failures.SeriesInstanceUID,
        min(coalesce(qc_failures.collection_id, 'unknown')) as collection_id
    from qc_failures
    where qc_failures.SeriesInstanceUID is not null
    group by qc_failures.SeriesInstanceUID
),

qc_flagged as (
    select
        qc_series.SeriesInstanceUID,
        qc_series.collection_id,
        coalesce(flagged.fails_idc, false) as fails_idc
    from qc_series
    left join flagged
        on qc_series.SeriesInstanceUID = flagged.SeriesInstanceUID
),

-- every series twice: once in its collection, once in '(all)'
scoped as (
    select collection_id as scope, flagged.* from flagged
    union all
    select '(all)' as scope, flagged.* from flagged
),

qc_scoped as (
    select collection_id as scope, qc_flagged.* from qc_flagged
    union all
    select '(all)' as scope, qc_flagged.* from qc_flagged
),

scope_totals as (
    select scope, count(*) as series_in_scope from scoped group by scope
),

counted as (
    select scope, 'not_regular_volume' as definition, 0 as part_order, 'total' as part, count(*) as series_count
    from scoped where not_regular group by scope
    union all
    select scope, 'not_regular_volume', 1, 'fails_idc_checks', count(*)
    from scoped where not_regular and fails_idc group by scope
    union all
    select scope, 'not_regular_volume', 2, geometry_category, count(*)
    from scoped where not_regular and not fails_idc group by scope, geometry_category
    union all
    select scope, 'fails_idc_checks', 0, 'total', count(*)
    from scoped where fails_idc group by scope
    union all
    select scope, 'fails_idc_checks', 1, 'not_regular_volume', count(*)
    from scoped where fails_idc and not_regular group by scope
    union all
    select scope, 'fails_idc_checks', 2, 'regular_volume', count(*)
    from scoped where fails_idc and not not_regular group by scope
    union all
    select scope, 'has_failure_reason', 0, 'total', count(*)
    from scoped where has_reason group by scope
    union all
    select scope, 'fails_qc_rules', 0, 'total', count(*)
    from qc_scoped group by scope
    union all
    select scope, 'fails_qc_rules', 1, 'fails_idc_checks', count(*)
    from qc_scoped where fails_idc group by scope
    union all
    select scope, 'fails_qc_rules', 2, 'other_rules', count(*)
    from qc_scoped where not fails_idc group by scope
),

final as (
    select
        counted.scope as collection_id,
        counted.definition,
        case counted.definition
            when 'not_regular_volume' then 1
            when 'fails_idc_checks' then 2
            when 'has_failure_reason' then 3
            when 'fails_qc_rules' then 4
        end as definition_order,
        case counted.definition
            when 'not_regular_volume' then 'not a regular volume'
            when 'fails_idc_checks' then {{ idc_qc.quoted_text("fail IDC's geometry checks") }}
            when 'has_failure_reason' then 'have a failure reason'
            when 'fails_qc_rules' then 'fail a QC rule'
        end as definition_label,
        counted.part_order,
        counted.part,
        case
            when counted.part = 'total' then 'in all'
            when counted.part = 'fails_idc_checks' then {{ idc_qc.quoted_text("fail IDC's geometry checks") }}
            when counted.part = 'not_regular_volume' then 'not a regular volume'
            when counted.part = 'regular_volume' then 'regular volumes (IDC compares written strings)'
            when counted.part = 'other_rules' then {{ idc_qc.quoted_text("pass IDC's checks, fail another rule") }}
            else replace(counted.part, '_', ' ')
        end as part_label,
        counted.series_count,
        coalesce(scope_totals.series_in_scope, 0) as series_in_scope
    from counted
    left join scope_totals
        on counted.scope = scope_totals.scope
)

select * from final
