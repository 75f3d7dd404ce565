-- One row per series and failure reason, for the series whose geometry category is a fault a
-- curator fixes (macro qc_failing_geometry_categories), with the numbers behind the reason
-- (macro geometry_reason_evidence) and the instances instance_geometry lists. Read by
-- rpt_qc_failures.

{%- set failing_categories = "('" ~ idc_qc.qc_failing_geometry_categories() | join("', '") ~ "')" %}

with series_geometry as (
    select * from {{ ref('series_geometry') }}
),

offending_instances as (
    select
        SeriesInstanceUID,
        count(distinct SOPInstanceUID) as offending_instance_count,
        min(SOPInstanceUID) as sample_SOPInstanceUID
    from {{ ref('instance_geometry') }}
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

final as (
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
)

select * from final
