-- One row per input series (a series of int_series__values_grouped) that does not reach the
-- `series` mart, or that has no geometry verdict in series_geometry. Read by rpt_qc_failures.

with input_series as (
    select
        SeriesInstanceUID,
        min(collection_id) as collection_id
    from {{ ref('int_series__values_grouped') }}
    group by SeriesInstanceUID
),

series as (
    select SeriesInstanceUID from {{ ref('series') }}
),

series_geometry as (
    select SeriesInstanceUID, geometry_category from {{ ref('series_geometry') }}
),

final as (
    select
        'completeness' as suite,
        'input series present in series' as check_name,
        'SeriesInstanceUID' as attribute,
        'missing' as error_kind,
        input_series.SeriesInstanceUID,
        input_series.collection_id,
        'not in series' as observed,
        cast(null as {{ dbt.type_bigint() }}) as failing_instance_count,
        cast(null as {{ dbt.type_string() }}) as sample_SOPInstanceUID
    from input_series
    left join series
        on input_series.SeriesInstanceUID = series.SeriesInstanceUID
    where series.SeriesInstanceUID is null
    union all
    select
        'completeness', 'input series has a geometry verdict', 'geometry_category', 'missing',
        input_series.SeriesInstanceUID, input_series.collection_id,
        case when series_geometry.SeriesInstanceUID is null then 'not in series_geometry' else 'geometry_category is NULL' end,
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ dbt.type_string() }})
    from input_series
    left join series_geometry
        on input_series.SeriesInstanceUID = series_geometry.SeriesInstanceUID
    where series_geometry.geometry_category is null
)

select * from final
