-- Series per converter, predicted outcome and deciding rule (series_converters), per
-- collection and for all collections ('(all)'): what the QC report's "Will my pipeline load
-- it?" section and the dashboard's converter panel read, so neither counts series_converters
-- itself. A series counts once per converter (series_converters' grain).

with converters as (
    select * from {{ ref('series_converters') }}
),

labelled as (
    select
        coalesce(collection_id, 'unknown') as own_collection,
        converter,
        tool_version,
        outcome_kind,
        rule_id,
        rule,
        hint,
        volume_count
    from converters
),

-- every series twice: once in its collection, once in '(all)'
scoped as (
    select own_collection as collection_id, labelled.* from labelled
    union all
    select '(all)' as collection_id, labelled.* from labelled
),

counted as (
    select
        collection_id,
        converter,
        tool_version,
        outcome_kind,
        rule_id,
        rule,
        hint,
        count(*) as series_count,
        cast(sum(volume_count) as {{ dbt.type_bigint() }}) as volume_count
    from scoped
    group by collection_id, converter, tool_version, outcome_kind, rule_id, rule, hint
),

final as (
    select
        collection_id,
        converter,
        case converter
            when 'highdicom' then 1
            when 'dcm2niix' then 2
            when 'dicom2nifti' then 3
            when 'SimpleITK' then 4
        end as converter_order,
        tool_version,
        outcome_kind,
        -- from best to worst for a pipeline: one volume, a warning, several files, a volume in
        -- the wrong place (silent), an error
        case outcome_kind
            when 'assembles' then 1
            when 'assembles with a warning' then 2
            when 'splits into N volumes' then 3
            when 'assembles with wrong geometry' then 4
            when 'refuses' then 5
        end as outcome_order,
        rule_id,
        rule,
        hint,
        series_count,
        volume_count,
        cast(sum(series_count) over (partition by collection_id, converter) as {{ dbt.type_bigint() }}) as converter_series_count
    from counted
)

select * from final
