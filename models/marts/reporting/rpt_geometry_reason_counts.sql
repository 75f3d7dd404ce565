-- Series (and instances) per failure reason, by collection, modality and manufacturer: the
-- series-level reasons of series_geometry.failure_reasons and the instance-level reasons of
-- instance_geometry, each with its key, category and IDC check from the one vocabulary
-- (seeds/geometry_reasons.csv). A series with two reasons counts under both.

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

series_reasons as (
    select
        'series' as level,
        reason,
        coalesce(series_geometry.collection_id, 'unknown') as collection_id,
        coalesce(series_geometry.Modality, 'unknown') as Modality,
        coalesce(series.manufacturer_harmonized, 'unknown') as manufacturer,
        series_geometry.SeriesInstanceUID,
        series_geometry.instance_count
    from series_geometry
    {{ idc_qc.cross_join_unnest('series_geometry.failure_reasons', 'reason') }}
    left join series
        on series_geometry.SeriesInstanceUID = series.SeriesInstanceUID
),

instance_reasons as (
    select
        'instance' as level,
        instance_geometry.reason,
        coalesce(instance_geometry.collection_id, 'unknown') as collection_id,
        coalesce(instance_geometry.Modality, 'unknown') as Modality,
        coalesce(series.manufacturer_harmonized, 'unknown') as manufacturer,
        instance_geometry.SeriesInstanceUID,
        instance_geometry.SOPInstanceUID
    from instance_geometry
    left join series
        on instance_geometry.SeriesInstanceUID = series.SeriesInstanceUID
),

-- a series lists each reason once; an instance once per reason (instance_geometry's grain)
series_counted as (
    select
        level, reason, collection_id, Modality, manufacturer,
        count(*) as series_count,
        cast(sum(instance_count) as {{ dbt.type_bigint() }}) as instance_count
    from series_reasons
    group by level, reason, collection_id, Modality, manufacturer
),

instance_counted as (
    select
        level, reason, collection_id, Modality, manufacturer,
        count(distinct SeriesInstanceUID) as series_count,
        count(distinct SOPInstanceUID) as instance_count
    from instance_reasons
    group by level, reason, collection_id, Modality, manufacturer
),

counted as (
    select * from series_counted
    union all
    select * from instance_counted
),

final as (
    select
        counted.level,
        vocabulary.reason_key,
        counted.reason,
        vocabulary.geometry_category,
        vocabulary.idc_check,
        counted.collection_id,
        counted.Modality,
        counted.manufacturer,
        counted.series_count,
        counted.instance_count
    from counted
    left join vocabulary
        on counted.level = vocabulary.level
        and counted.reason = vocabulary.label
)

select * from final
